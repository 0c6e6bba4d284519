import { useQuery } from "@tanstack/react-query";

/** What the server tells the app about its environment (GET /web-config.json). */
export interface WebConfig {
  /** Stripe publishable key; empty when the shop runs against stripe-mock. */
  stripePublishableKey: string;
  /** True only in development against stripe-mock: the test payment button is offered. */
  testPayments: boolean;
  /** Base URL of the Temporal UI, for links to an order's workflow; may be empty. */
  temporalUiUrl: string;
  temporalNamespace: string;
}

export async function fetchWebConfig(): Promise<WebConfig> {
  const r = await fetch("/web-config.json");
  if (!r.ok) throw new Error(`web-config.json: ${r.status}`);
  return (await r.json()) as WebConfig;
}

export function useWebConfig() {
  return useQuery({ queryKey: ["web-config"], queryFn: fetchWebConfig, staleTime: Infinity });
}

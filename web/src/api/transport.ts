import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import type { DescService } from "@bufbuild/protobuf";
import { AuthService } from "../gen/shop/auth/v1/auth_pb";
import { Session } from "../auth/session";

const baseUrl = globalThis.location?.origin ?? "http://localhost:3000";

// Refresh goes through a transport of its own, without the auth interceptor.
const bare = createConnectTransport({ baseUrl });
const authClient = createClient(AuthService, bare);

export const session = new Session(async (refreshToken) => {
  const r = await authClient.refresh({ refreshToken });
  return { accessToken: r.accessToken, refreshToken: r.refreshToken, expiresIn: r.expiresIn };
});

/**
 * Adds the bearer token, refreshing it shortly before it expires; when the API
 * still answers Unauthenticated (the token was revoked or the clock is off),
 * refreshes once and retries the call once.
 */
export function authInterceptor(s: Session): Interceptor {
  return (next) => async (req) => {
    // Signing in or up needs no session; retrying them would only rotate the current one.
    if (req.service.typeName === AuthService.typeName && noAuthMethods.has(req.method.name)) return next(req);
    const used = await s.validTokens();
    if (!used) return next(req);
    req.header.set("Authorization", `Bearer ${used.accessToken}`);
    try {
      return await next(req);
    } catch (err) {
      if (!(err instanceof ConnectError) || err.code !== Code.Unauthenticated || req.stream) throw err;
      const fresh = await s.tokenForRetry(used.accessToken, used.refreshToken);
      if (!fresh) throw err;
      req.header.set("Authorization", `Bearer ${fresh}`);
      return next(req);
    }
  };
}

const noAuthMethods = new Set(["Login", "Register", "Refresh"]);

export const transport = createConnectTransport({ baseUrl, interceptors: [authInterceptor(session)] });

/**
 * fetch with the session's bearer token (refreshed when due) for the few
 * plain-HTTP endpoints; on 401 it refreshes once and retries once.
 */
export async function authedFetch(input: string, init: RequestInit = {}): Promise<Response> {
  const send = (token: string | null) => {
    const headers = new Headers(init.headers);
    if (token) headers.set("Authorization", `Bearer ${token}`);
    return fetch(input, { ...init, headers });
  };
  const used = await session.validTokens();
  const r = await send(used?.accessToken ?? null);
  if (r.status !== 401 || !used) return r;
  const fresh = await session.tokenForRetry(used.accessToken, used.refreshToken);
  return fresh ? send(fresh) : r;
}

export function client<T extends DescService>(service: T) {
  return createClient(service, transport);
}

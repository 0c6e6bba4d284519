import { safeHttpUrl } from "../links";

/** A tracking number, linked to the carrier's page when its URL is a plain http(s) one. */
export function TrackingNumber({ number, url }: { number: string; url?: string }) {
  const href = safeHttpUrl(url);
  return href ? (
    <a href={href} target="_blank" rel="noopener noreferrer">
      {number}
    </a>
  ) : (
    <span>{number}</span>
  );
}

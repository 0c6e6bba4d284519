export function Loading() {
  return (
    <p role="status" aria-live="polite" className="loading">
      Loading…
    </p>
  );
}

import { useEffect, useRef } from "react";
import { useLocation } from "react-router";

/**
 * On navigation to another page (path change, not a query change such as a
 * search filter), scrolls to the top and moves focus to the new page's h1,
 * so keyboard and screen reader users start at the new content. Focus stays
 * where it is when the user is typing in a field.
 */
export function useRouteFocus(mainId: string) {
  const { pathname } = useLocation();
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    globalThis.scrollTo?.(0, 0);
    let frame = 0;
    let tries = 0;
    const focus = () => {
      const active = document.activeElement;
      if (active instanceof HTMLInputElement || active instanceof HTMLTextAreaElement || active instanceof HTMLSelectElement) return;
      const main = document.getElementById(mainId);
      const h1 = main?.querySelector<HTMLElement>("h1");
      if (!h1) {
        // A lazy page renders its heading a little later.
        if (++tries < 60) frame = requestAnimationFrame(focus);
        else main?.focus({ preventScroll: true });
        return;
      }
      if (!h1.hasAttribute("tabindex")) h1.setAttribute("tabindex", "-1");
      h1.focus({ preventScroll: true });
    };
    frame = requestAnimationFrame(focus);
    return () => cancelAnimationFrame(frame);
  }, [pathname, mainId]);
}

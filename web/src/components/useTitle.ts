import { useEffect } from "react";

/** Sets the document title ("Cart · Shop"), so tabs and screen readers name the page. */
export function useTitle(title: string | undefined) {
  useEffect(() => {
    if (title) document.title = `${title} · Shop`;
  }, [title]);
}

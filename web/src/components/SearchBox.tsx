import { useEffect, useId, useState, type FormEvent, type KeyboardEvent } from "react";
import { useNavigate, useSearchParams } from "react-router";
import { useQuery } from "@connectrpc/connect-query";
import { CatalogService } from "../gen/shop/catalog/v1/catalog_pb";

function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

/** The header's search field: a combobox with type-ahead suggestions (WAI-ARIA combobox pattern). */
export function SearchBox() {
  const [params] = useSearchParams();
  const [text, setText] = useState(() => params.get("q") ?? "");
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const navigate = useNavigate();
  const id = useId();
  const listId = `${id}-list`;
  const q = useDebounced(text.trim(), 200);
  const enabled = open && q.length >= 2;
  const { data } = useQuery(CatalogService.method.suggestProducts, { q, limit: 8 }, { enabled });
  const items = enabled ? (data?.suggestions ?? []) : [];
  const expanded = open && items.length > 0;

  const go = (path: string) => {
    setOpen(false);
    setActive(-1);
    void navigate(path);
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const chosen = active >= 0 ? items[active] : undefined;
    if (chosen) go(`/p/${chosen.productId}`);
    else if (text.trim()) go(`/search?q=${encodeURIComponent(text.trim())}`);
  };
  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    switch (e.key) {
      case "ArrowDown":
        e.preventDefault();
        setOpen(true);
        if (items.length) setActive((a) => (a + 1) % items.length);
        break;
      case "ArrowUp":
        e.preventDefault();
        if (items.length) setActive((a) => (a <= 0 ? items.length - 1 : a - 1));
        break;
      case "Escape":
        if (expanded) e.preventDefault();
        setOpen(false);
        setActive(-1);
        break;
    }
  };

  return (
    <form role="search" className="searchbox" onSubmit={submit}>
      <label htmlFor={`${id}-input`} className="visually-hidden">
        Search products
      </label>
      <input
        id={`${id}-input`}
        type="text"
        role="combobox"
        aria-autocomplete="list"
        aria-expanded={expanded}
        aria-controls={listId}
        aria-activedescendant={expanded && active >= 0 ? `${id}-opt-${active}` : undefined}
        autoComplete="off"
        placeholder="Search products"
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          setOpen(true);
          setActive(-1);
        }}
        onKeyDown={onKeyDown}
        onBlur={() => setTimeout(() => setOpen(false), 150)}
      />
      <button type="submit">Search</button>
      <ul id={listId} role="listbox" aria-label="Suggestions" className="suggestions" hidden={!expanded}>
        {items.map((s, i) => (
          <li
            key={s.productId.toString()}
            id={`${id}-opt-${i}`}
            role="option"
            aria-selected={i === active}
            className={i === active ? "active" : undefined}
            onMouseDown={(e) => {
              e.preventDefault();
              go(`/p/${s.productId}`);
            }}
          >
            {s.name}
          </li>
        ))}
      </ul>
    </form>
  );
}

import { useState } from "react";
import { useMutation, useQuery } from "@connectrpc/connect-query";
import { useQueryClient } from "@tanstack/react-query";
import { CatalogService, type Category } from "../gen/shop/catalog/v1/catalog_pb";
import { AdminOnlyNote, ApiError, ConfirmButton, Field, Loading, StatusMessage, useIsAdmin } from "./ui";

type Draft = { name: string; slug: string; parent: string; description: string };
const empty: Draft = { name: "", slug: "", parent: "", description: "" };

function CategoryForm({
  title,
  initial,
  categories,
  selfId,
  busy,
  error,
  onSave,
  onCancel,
}: {
  title: string;
  initial: Draft;
  categories: Category[];
  selfId?: bigint;
  busy: boolean;
  error: unknown;
  onSave: (d: Draft) => void;
  onCancel?: () => void;
}) {
  const [d, setD] = useState(initial);
  const isAdmin = useIsAdmin();
  return (
    <form
      className="card form-grid"
      aria-label={title}
      onSubmit={(e) => {
        e.preventDefault();
        onSave(d);
      }}
    >
      <h2 className="wide">{title}</h2>
      <Field label="Name" required value={d.name} onChange={(e) => setD({ ...d, name: e.target.value })} apiError={error} apiField="name" />
      <Field label="Slug" placeholder="from the name" value={d.slug} onChange={(e) => setD({ ...d, slug: e.target.value })} apiError={error} apiField="slug" />
      <div className="field">
        <label htmlFor={`cat-parent-${selfId ?? "new"}`}>Parent category</label>
        <select id={`cat-parent-${selfId ?? "new"}`} value={d.parent} onChange={(e) => setD({ ...d, parent: e.target.value })}>
          <option value="">None (top level)</option>
          {categories
            .filter((c) => c.id !== selfId)
            .map((c) => (
              <option key={String(c.id)} value={String(c.id)}>
                {c.name}
              </option>
            ))}
        </select>
      </div>
      <Field label="Description" value={d.description} onChange={(e) => setD({ ...d, description: e.target.value })} />
      <div className="wide row">
        <button type="submit" className="primary" disabled={busy || !isAdmin}>
          Save category
        </button>
        {onCancel && (
          <button type="button" onClick={onCancel}>
            Cancel editing
          </button>
        )}
      </div>
      <div className="wide">
        <ApiError error={error} />
      </div>
    </form>
  );
}

export default function Categories() {
  const isAdmin = useIsAdmin();
  const qc = useQueryClient();
  const list = useQuery(CatalogService.method.listCategories, {});
  const [editing, setEditing] = useState<bigint | null>(null);
  const [msg, setMsg] = useState("");
  const done = (m: string) => () => {
    setMsg(m);
    setEditing(null);
    void qc.invalidateQueries();
  };
  const createM = useMutation(CatalogService.method.createCategory, { onSuccess: done("Category created") });
  const updateM = useMutation(CatalogService.method.updateCategory, { onSuccess: done("Category saved") });
  const archiveM = useMutation(CatalogService.method.archiveCategory, { onSuccess: done("Category archived") });
  const categories = list.data?.categories ?? [];
  const name = new Map(categories.map((c) => [c.id, c.name]));

  return (
    <>
      <h1>Categories</h1>
      {!isAdmin && <AdminOnlyNote what="create, edit or archive categories" />}
      {msg && <StatusMessage>{msg}</StatusMessage>}
      <ApiError error={list.error ?? archiveM.error} />
      {list.isPending && <Loading what="categories" />}
      {list.data && (
        <div className="table-wrap" tabIndex={0}>
          <table>
            <caption>Categories ({categories.length})</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Slug</th>
                <th scope="col">Parent</th>
                <th scope="col">Description</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {categories.length === 0 && (
                <tr>
                  <td colSpan={5}>No categories yet.</td>
                </tr>
              )}
              {categories.map((c) => (
                <tr key={String(c.id)}>
                  <th scope="row">{c.name}</th>
                  <td>{c.slug}</td>
                  <td>{c.parentId ? (name.get(c.parentId) ?? String(c.parentId)) : "—"}</td>
                  <td>{c.description}</td>
                  <td className="actions">
                    <button type="button" disabled={!isAdmin} onClick={() => setEditing(c.id)} aria-label={`Edit ${c.name}`}>
                      Edit
                    </button>
                    <ConfirmButton
                      label={`Archive ${c.name}`}
                      question={`Archive the category ${c.name}? Only an empty category can be archived.`}
                      confirmLabel="Yes, archive"
                      disabled={!isAdmin}
                      busy={archiveM.isPending}
                      onConfirm={() => archiveM.mutate({ categoryId: c.id })}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {editing !== null &&
        categories
          .filter((c) => c.id === editing)
          .map((c) => (
            <CategoryForm
              key={String(c.id)}
              title={`Edit ${c.name}`}
              selfId={c.id}
              categories={categories}
              initial={{ name: c.name, slug: c.slug, parent: c.parentId ? String(c.parentId) : "", description: c.description }}
              busy={updateM.isPending}
              error={updateM.error}
              onCancel={() => setEditing(null)}
              onSave={(d) =>
                updateM.mutate({ categoryId: c.id, name: d.name, slug: d.slug, parentId: d.parent ? BigInt(d.parent) : 0n, description: d.description })
              }
            />
          ))}
      <CategoryForm
        title="New category"
        initial={empty}
        categories={categories}
        busy={createM.isPending}
        error={createM.error}
        onSave={(d) => createM.mutate({ name: d.name, slug: d.slug, parentId: d.parent ? BigInt(d.parent) : 0n, description: d.description })}
      />
    </>
  );
}

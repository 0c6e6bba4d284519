import { render, screen } from "@testing-library/react";
import { Code, ConnectError } from "@connectrpc/connect";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import userEvent from "@testing-library/user-event";
import { vi } from "vitest";
import { ApiError, ConfirmButton, Field } from "./ui";

function invalid(field: string, description: string) {
  const w = new BinaryWriter();
  w.tag(1, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string(field).tag(2, WireType.LengthDelimited).string(description).join();
  const err = new ConnectError(`${field}: ${description}`, Code.InvalidArgument);
  err.details.push({ type: "google.rpc.BadRequest", value: w.finish() });
  return err;
}

describe("Field", () => {
  it("shows the API's violation of its field next to it", () => {
    render(<Field label="Code" apiError={invalid("code", "must be upper case")} apiField="code" />);
    const input = screen.getByLabelText("Code");
    expect(input).toHaveAttribute("aria-invalid", "true");
    expect(input).toHaveAccessibleDescription("must be upper case");
  });
  it("stays valid when the violation is another field's", () => {
    render(<Field label="Name" apiError={invalid("code", "must be upper case")} apiField="name" />);
    expect(screen.getByLabelText("Name")).not.toHaveAttribute("aria-invalid");
  });
});

describe("ApiError", () => {
  it("marks a permission error", () => {
    render(<ApiError error={new ConnectError("admins only", Code.PermissionDenied)} />);
    expect(screen.getByRole("alert")).toHaveTextContent("Permission denied: your role may not do this (admins only).");
  });
});

describe("ConfirmButton", () => {
  it("returns focus to its button after Escape or Keep as is", async () => {
    const user = userEvent.setup();
    const onConfirm = vi.fn();
    render(<ConfirmButton label="Cancel order" question="Cancel this order?" confirmLabel="Yes, cancel" onConfirm={onConfirm} />);
    await user.click(screen.getByRole("button", { name: "Cancel order" }));
    expect(screen.getByRole("group", { name: "Cancel this order?" })).toHaveFocus();
    await user.keyboard("{Escape}");
    expect(screen.getByRole("button", { name: "Cancel order" })).toHaveFocus();

    await user.click(screen.getByRole("button", { name: "Cancel order" }));
    await user.click(screen.getByRole("button", { name: "Keep as is" }));
    expect(screen.getByRole("button", { name: "Cancel order" })).toHaveFocus();
    expect(onConfirm).not.toHaveBeenCalled();
  });
});

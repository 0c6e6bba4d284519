import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { ImageManager, type ImageApi } from "./ProductImages";

describe("ImageManager", () => {
  it("uploads a chosen image with its alt text", async () => {
    const user = userEvent.setup();
    const uploads: [string, string][] = [];
    const api: ImageApi = {
      images: [{ id: "1", url: "/images/1.webp", alt: "Front view", primary: true }],
      upload: async (f, alt) => {
        uploads.push([f.name, alt]);
      },
      setPrimary: async () => {},
    };
    render(<ImageManager productName="Mug" api={api} />);
    expect(screen.getByRole("img", { name: "Front view" })).toHaveAttribute("width", "160");
    // The primary image is not offered as primary again.
    expect(screen.queryByRole("button", { name: /Make primary/ })).toBeNull();
    await user.upload(screen.getByLabelText("Upload image"), new File(["x"], "mug.png", { type: "image/png" }));
    await user.type(screen.getByLabelText("Alt text"), "Mug from the side");
    await user.click(screen.getByRole("button", { name: "Upload" }));
    await waitFor(() => expect(uploads).toEqual([["mug.png", "Mug from the side"]]));
    expect(await screen.findByRole("status")).toHaveTextContent("Image uploaded");
  });

  it("shows a failed upload", async () => {
    const user = userEvent.setup();
    render(<ImageManager productName="Mug" api={{ images: [], upload: () => Promise.reject(new Error("too large")) }} />);
    await user.upload(screen.getByLabelText("Upload image"), new File(["x"], "mug.png", { type: "image/png" }));
    await user.type(screen.getByLabelText("Alt text"), "Mug");
    await user.click(screen.getByRole("button", { name: "Upload" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("too large");
  });
});

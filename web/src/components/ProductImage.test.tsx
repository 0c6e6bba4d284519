import { describe, expect, it } from "vitest";
import { render, screen } from "@testing-library/react";
import { ProductImage } from "./ProductImage";

describe("ProductImage", () => {
  it("reserves its box from width and height and offers WebP first", () => {
    const { container } = render(<ProductImage src="/images/a.jpg" webpSrc="/images/a.webp" width={1200} height={800} alt="Red shoe" />);
    const img = screen.getByRole("img", { name: "Red shoe" });
    expect(img).toHaveAttribute("width", "1200");
    expect(img).toHaveAttribute("height", "800");
    expect(img.style.aspectRatio).toBe("1200 / 800");
    expect(img).toHaveAttribute("loading", "lazy");
    const source = container.querySelector("picture > source");
    expect(source).toHaveAttribute("srcset", "/images/a.webp");
    expect(source).toHaveAttribute("type", "image/webp");
  });

  it("shows a placeholder of the same box when there is no picture", () => {
    render(<ProductImage width={4} height={3} alt="Red shoe" priority />);
    const ph = screen.getByRole("img", { name: "Red shoe (no picture yet)" });
    expect(ph.tagName).toBe("DIV");
    expect(ph.style.aspectRatio).toBe("4 / 3");
  });

  it("renders a plain img without a WebP source", () => {
    const { container } = render(<ProductImage src="/images/b.png" width={10} height={10} alt="" priority />);
    expect(container.querySelector("picture")).toBeNull();
    expect(container.querySelector("img")).toHaveAttribute("loading", "eager");
  });
});

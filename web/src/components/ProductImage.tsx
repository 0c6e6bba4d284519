export interface ProductImageProps {
  src?: string;
  webpSrc?: string;
  width: number;
  height: number;
  alt: string;
  /** Load eagerly (the main image above the fold). */
  priority?: boolean;
  className?: string;
}

/**
 * A product picture whose box is reserved before it loads (aspect-ratio from
 * width and height), so nothing shifts; without a src, a neutral placeholder
 * of the same box.
 */
export function ProductImage({ src, webpSrc, width, height, alt, priority, className }: ProductImageProps) {
  const style = { aspectRatio: `${width} / ${height}` };
  const cls = "product-image" + (className ? " " + className : "");
  if (!src) {
    return (
      <div className={cls + " product-image--empty"} style={style} role="img" aria-label={alt ? `${alt} (no picture)` : "No picture"}>
        <svg viewBox="0 0 24 24" width="48" height="48" aria-hidden="true" focusable="false">
          <path
            fill="currentColor"
            d="M21 5v14H3V5h18m0-2H3a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h18a2 2 0 0 0 2-2V5a2 2 0 0 0-2-2zm-7.86 8.86-3 3.87L8 13.14 5 17h14l-3.86-5.14z"
          />
        </svg>
      </div>
    );
  }
  const img = (
    <img
      src={src}
      alt={alt}
      width={width}
      height={height}
      style={style}
      loading={priority ? "eager" : "lazy"}
      decoding="async"
      className={cls}
    />
  );
  if (!webpSrc) return img;
  return (
    <picture>
      <source srcSet={webpSrc} type="image/webp" />
      {img}
    </picture>
  );
}

package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"connectrpc.com/connect"

	catalogv1 "github.com/shopkit/shop/gen/shop/catalog/v1"
	"github.com/shopkit/shop/internal/images"
	"github.com/shopkit/shop/internal/objectstore"
	"github.com/shopkit/shop/internal/validation"
)

// ImageFlows starts the processing of an uploaded image (the
// ProcessProductImage workflow; workflows/images.Client).
type ImageFlows = images.Processor

// Images are the product images' dependencies; without Store and Objects
// the image RPCs answer Unimplemented and products carry no images.
type Images = images.Service

func (s *CatalogServer) imagesOn() error {
	if s.Images.Store == nil || s.Images.Objects == nil {
		return connect.NewError(connect.CodeUnimplemented, errors.New("product images are not configured"))
	}
	return nil
}

// ImagePath is where the API serves a stored variant.
const ImagePath = "/images/"

func imageURL(key string) string { return ImagePath + key }

// imageProto is an image as the API shows it.
func imageProto(im images.Image, primary bool) *catalogv1.ProductImage {
	out := &catalogv1.ProductImage{Id: im.ID, AltText: im.AltText, Width: int32(im.Width), Height: int32(im.Height),
		Position: int32(im.Position), Primary: primary, Status: string(im.Status), Failure: im.Failure}
	renditions := map[string]*catalogv1.ImageRendition{}
	for _, v := range im.Variants {
		r := renditions[v.Size]
		if r == nil {
			r = &catalogv1.ImageRendition{Width: int32(v.Width), Height: int32(v.Height)}
			renditions[v.Size] = r
		}
		if v.Format == "webp" {
			r.WebpUrl = imageURL(v.Key)
		} else {
			r.FallbackUrl, r.FallbackType = imageURL(v.Key), v.ContentType
		}
	}
	out.Thumbnail, out.Card, out.Full = renditions["thumbnail"], renditions["card"], renditions["full"]
	return out
}

func imagesProto(list []images.Image) []*catalogv1.ProductImage {
	out := make([]*catalogv1.ProductImage, len(list))
	for i, im := range list {
		out[i] = imageProto(im, i == 0)
	}
	return out
}

// attachImages fills the ready images of products.
func (s *CatalogServer) attachImages(ctx context.Context, products ...*catalogv1.Product) error {
	if s.Images.Store == nil || len(products) == 0 {
		return nil
	}
	ids := make([]int64, len(products))
	for i, p := range products {
		ids[i] = p.GetId()
	}
	ready, err := s.Images.Store.Ready(ctx, ids)
	if err != nil {
		return err
	}
	for _, p := range products {
		p.Images = imagesProto(ready[p.GetId()])
	}
	return nil
}

// ListProductImages implements CatalogService.
func (s *CatalogServer) ListProductImages(ctx context.Context, req *connect.Request[catalogv1.ListProductImagesRequest]) (*connect.Response[catalogv1.ListProductImagesResponse], error) {
	if err := s.imagesOn(); err != nil {
		return nil, err
	}
	list, err := s.Images.Store.List(ctx, req.Msg.GetProductId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&catalogv1.ListProductImagesResponse{Images: imagesProto(list)}), nil
}

// UpdateProductImage implements CatalogService.
func (s *CatalogServer) UpdateProductImage(ctx context.Context, req *connect.Request[catalogv1.UpdateProductImageRequest]) (*connect.Response[catalogv1.UpdateProductImageResponse], error) {
	if err := s.imagesOn(); err != nil {
		return nil, err
	}
	m := req.Msg
	im, err := s.Images.Store.Update(ctx, m.GetProductId(), m.GetImageId(), m.AltText, m.GetPrimary())
	if err != nil {
		return nil, err
	}
	list, err := s.Images.Store.List(ctx, m.GetProductId())
	if err != nil {
		return nil, err
	}
	primary := len(list) > 0 && list[0].ID == im.ID
	return connect.NewResponse(&catalogv1.UpdateProductImageResponse{Image: imageProto(im, primary)}), nil
}

// ReorderProductImages implements CatalogService.
func (s *CatalogServer) ReorderProductImages(ctx context.Context, req *connect.Request[catalogv1.ReorderProductImagesRequest]) (*connect.Response[catalogv1.ReorderProductImagesResponse], error) {
	if err := s.imagesOn(); err != nil {
		return nil, err
	}
	list, err := s.Images.Store.Reorder(ctx, req.Msg.GetProductId(), req.Msg.GetImageIds())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&catalogv1.ReorderProductImagesResponse{Images: imagesProto(list)}), nil
}

// DeleteProductImage implements CatalogService. The objects no other image
// uses are deleted after the record; a failure there leaves an orphan
// object behind, never a record without its files.
func (s *CatalogServer) DeleteProductImage(ctx context.Context, req *connect.Request[catalogv1.DeleteProductImageRequest]) (*connect.Response[catalogv1.DeleteProductImageResponse], error) {
	if err := s.imagesOn(); err != nil {
		return nil, err
	}
	_, unused, err := s.Images.Store.Delete(ctx, req.Msg.GetProductId(), req.Msg.GetImageId())
	if err != nil {
		return nil, err
	}
	for _, key := range unused {
		if err := s.Images.Objects.Delete(ctx, key); err != nil {
			slog.WarnContext(ctx, "cannot delete an unused image object", "key", key, "error", err)
		}
	}
	return connect.NewResponse(&catalogv1.DeleteProductImageResponse{}), nil
}

// uploadRoute is the upload's route; its rule is in routeRules.
const uploadRoute = "POST /api/products/{product_id}/images"

var uploadPath = regexp.MustCompile(`^/api/products/[^/]+/images$`)

// ownsBodyLimit says whether the handler of r bounds its body itself (the
// image upload, IMAGE_MAX_BYTES) instead of the API's 1 MiB.
func ownsBodyLimit(r *http.Request) bool {
	return r.Method == http.MethodPost && uploadPath.MatchString(r.URL.Path)
}

// multipartOverhead is what a multipart body may carry besides the file
// (boundaries, part headers, the alt text).
const multipartOverhead = 64 << 10

// imageUpload serves uploadRoute: multipart/form-data with the file in the
// field "file" (and optionally "alt_text"), or the raw image as the body
// with its Content-Type (alt text in ?alt_text=). Nothing is stored until
// every check passed: the caller's role, the product, the size, the type
// sniffed from the bytes and the pixel count read from the header.
type imageUpload struct {
	gate    *gate
	catalog *CatalogServer
	log     *slog.Logger
}

func (u *imageUpload) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, err := u.serve(w, r)
	if err == nil {
		return
	}
	var ce *connect.Error
	if !errors.As(toConnect(ctx, u.log, uploadRoute, err), &ce) {
		ce = connect.NewError(connect.CodeInternal, errors.New("internal error"))
	}
	status := restStatus[ce.Code()]
	if errors.Is(err, images.ErrTooLarge) {
		status = http.StatusRequestEntityTooLarge
	}
	if status == 0 {
		status = http.StatusInternalServerError
	}
	writeRESTError(w, status, ce)
}

func (u *imageUpload) serve(w http.ResponseWriter, r *http.Request) (context.Context, error) {
	ctx, rule, p, err := u.gate.authorizeRule(r.Context(), uploadRoute, routeRules[uploadRoute], r.Header)
	if err != nil {
		return ctx, err
	}
	if err := u.gate.rateLimit(ctx, rule, p, u.gate.clientIP(r.Header, r.RemoteAddr)); err != nil {
		return ctx, err
	}
	if err := u.catalog.imagesOn(); err != nil {
		return ctx, err
	}
	productID, err := strconv.ParseInt(r.PathValue("product_id"), 10, 64)
	if err != nil || productID <= 0 {
		return ctx, validation.New("product_id", "must be a positive integer")
	}
	if err := u.catalog.Images.Store.ProductExists(ctx, productID); err != nil {
		return ctx, err
	}
	limits := u.catalog.Images.Limits
	maxBytes := limits.MaxBytes
	if maxBytes <= 0 {
		maxBytes = images.DefaultMaxBytes
	}
	if r.ContentLength > maxBytes+multipartOverhead {
		return ctx, fmt.Errorf("%w: the body is %d bytes; at most %d are accepted", images.ErrTooLarge, r.ContentLength, maxBytes)
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBytes+multipartOverhead)
	data, declared, alt, err := readUpload(r, maxBytes)
	if err != nil {
		return ctx, err
	}
	im, created, err := u.catalog.Images.Add(ctx, productID, data, declared, alt, p.UserID)
	if err != nil {
		return ctx, err
	}
	b, err := jsonMarshal.Marshal(imageProto(im, im.Position == 0))
	if err != nil {
		return ctx, err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		w.Header().Set("Location", fmt.Sprintf("/api/products/%d/images/%d", productID, im.ID))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return ctx, nil
}

// readUpload reads the file, its declared content type and the alt text.
func readUpload(r *http.Request, maxBytes int64) (data []byte, declared, alt string, err error) {
	mediaType, _, perr := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if perr != nil {
		return nil, "", "", validation.New("content_type", "is missing; send multipart/form-data with the file in \"file\", or the image itself as %s", images.AcceptedTypes)
	}
	if mediaType != "multipart/form-data" {
		data, err = readLimited(r.Body, maxBytes)
		return data, mediaType, r.URL.Query().Get("alt_text"), err
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, "", "", validation.New("content_type", "multipart body cannot be read: %v", err)
	}
	found := false
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, "", "", bodyReadError(err)
		}
		switch part.FormName() {
		case "file":
			if found {
				return nil, "", "", validation.New("file", "send one file per request")
			}
			found = true
			declared = part.Header.Get("Content-Type")
			if data, err = readLimited(part, maxBytes); err != nil {
				return nil, "", "", err
			}
		case "alt_text":
			b, err := readLimited(part, images.MaxAltText*4)
			if err != nil {
				return nil, "", "", validation.New("alt_text", "must be at most %d characters", images.MaxAltText)
			}
			alt = string(b)
		}
		_ = part.Close()
	}
	if !found {
		return nil, "", "", validation.New("file", "is required (multipart/form-data field \"file\")")
	}
	return data, declared, alt, nil
}

// readLimited reads at most limit bytes; more is ErrTooLarge.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, bodyReadError(err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", images.ErrTooLarge, limit)
	}
	return data, nil
}

func bodyReadError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return fmt.Errorf("%w: %v", images.ErrTooLarge, err)
	}
	return validation.New("file", "the body cannot be read: %v", err)
}

// imageName is a served variant: a content hash and an extension, nothing else.
var imageName = regexp.MustCompile(`^[0-9a-f]{64}\.(webp|jpg|png)$`)

// serveImage answers GET /images/<sha256>.<ext> from the object store. The
// name is the content's hash, so the answer never changes: browsers and
// CDNs keep it for a year without asking again.
func serveImage(objects objectstore.Store, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		h := w.Header()
		// Misses are not cached: a CDN must not remember a 404 or 503 for a
		// name that will exist (or be readable) a moment later.
		h.Set("Cache-Control", "no-store")
		if objects == nil || !imageName.MatchString(name) {
			http.NotFound(w, r)
			return
		}
		etag := `"` + strings.TrimSuffix(name, name[strings.LastIndexByte(name, '.'):]) + `"`
		if match := r.Header.Get("If-None-Match"); match != "" && (match == etag || match == "*" || strings.Contains(match, etag)) {
			h.Set("ETag", etag)
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
			w.WriteHeader(http.StatusNotModified)
			return
		}
		body, obj, err := objects.Get(r.Context(), name)
		if errors.Is(err, objectstore.ErrNotFound) {
			http.NotFound(w, r)
			return
		}
		if err != nil {
			log.ErrorContext(r.Context(), "cannot read an image", "key", name, "error", err)
			http.Error(w, "image store unavailable", http.StatusServiceUnavailable)
			return
		}
		defer func() { _ = body.Close() }()
		h.Set("Content-Type", objectstore.ContentTypeOf(name))
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
		h.Set("ETag", etag)
		if obj.Size > 0 {
			h.Set("Content-Length", strconv.FormatInt(obj.Size, 10))
		}
		if !obj.ModTime.IsZero() {
			h.Set("Last-Modified", obj.ModTime.UTC().Format(http.TimeFormat))
		}
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = io.Copy(w, body)
		}
	})
}

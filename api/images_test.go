package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/textproto"
	neturl "net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	imagesact "github.com/shopkit/shop/activities/images"
	"github.com/shopkit/shop/api"
	"github.com/shopkit/shop/internal/failure"
	"github.com/shopkit/shop/internal/identity"
	"github.com/shopkit/shop/internal/images"
	"github.com/shopkit/shop/internal/images/imagestest"
	"github.com/shopkit/shop/internal/objectstore"
	"github.com/shopkit/shop/internal/testenv"
	"github.com/shopkit/shop/workers/shoptest"
	imageswf "github.com/shopkit/shop/workflows/images"
)

// multipartBody is a form with the file in "file" (partType as its
// Content-Type; none when empty) and the alt text.
func multipartBody(t testing.TB, name, partType string, data []byte, alt string) (string, []byte) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, name))
	if partType != "" {
		h.Set("Content-Type", partType)
	}
	part, err := mw.CreatePart(h)
	require.NoError(t, err)
	_, err = part.Write(data)
	require.NoError(t, err)
	if alt != "" {
		require.NoError(t, mw.WriteField("alt_text", alt))
	}
	require.NoError(t, mw.Close())
	return mw.FormDataContentType(), b.Bytes()
}

func sendImage(t testing.TB, method, url, token, contentType string, body []byte, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

type rendition struct {
	WebpURL      string `json:"webp_url"`
	FallbackURL  string `json:"fallback_url"`
	FallbackType string `json:"fallback_type"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
}

type productImage struct {
	ID        string     `json:"id"`
	AltText   string     `json:"alt_text"`
	Width     int        `json:"width"`
	Height    int        `json:"height"`
	Position  int        `json:"position"`
	Primary   bool       `json:"primary"`
	Status    string     `json:"status"`
	Failure   string     `json:"failure"`
	Thumbnail *rendition `json:"thumbnail"`
	Card      *rendition `json:"card"`
	Full      *rendition `json:"full"`
}

// startImageWorker runs the ProcessProductImage workflow for the fixture's
// database on a task queue of its own.
func startImageWorker(t *testing.T, f *fixture, objects objectstore.Store, queue string) {
	w := worker.New(f.shop.Temporal, queue, worker.Options{
		Interceptors: []interceptor.WorkerInterceptor{failure.BoundsGuard()}, WorkflowPanicPolicy: worker.FailWorkflow})
	w.RegisterWorkflowWithOptions(imageswf.Workflow, workflow.RegisterOptions{Name: imageswf.Name})
	w.RegisterActivity(imagesact.NewActivities(images.NewStore(f.shop.Pool), objects, images.Limits{}, 1))
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
}

func waitImage(t *testing.T, f *fixture, token string, productID int64, id, status string) productImage {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, body := sendImage(t, http.MethodGet, fmt.Sprintf("%s/api/products/%d/images", f.url, productID), token, "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
		var list struct{ Images []productImage }
		require.NoError(t, json.Unmarshal(body, &list))
		for _, im := range list.Images {
			if im.ID == id && im.Status == status {
				return im
			}
		}
		require.True(t, time.Now().Before(deadline), "image %s not %s in time: %s", id, status, body)
		<-time.After(200 * time.Millisecond)
	}
}

// TestProductImageUpload uploads images as staff to a real S3 server
// (versitygw), lets the workflow make the variants on the Temporal dev
// server, and reads them back as the storefront does.
func TestProductImageUpload(t *testing.T) {
	objects := testenv.S3(t)
	queue := testenv.UniqueName("test-images-")
	f := newServerWith(t, options{images: objects,
		imageFlows: imageswf.Client{Temporal: testenv.Temporal(t), TaskQueue: queue}})
	startImageWorker(t, f, objects, queue)
	staff := session(t, f, "stella", identity.RoleStaff)
	ctx := context.Background()
	uploadURL := fmt.Sprintf("%s/api/products/%d/images", f.url, f.laptop.ID)

	// A PNG with transparency, as a form (what curl -F sends).
	ct, body := multipartBody(t, "laptop.png", "image/png", imagestest.PNG(t, imagestest.Photo(1600, 1000, true)), "Gaming laptop, open")
	resp, b := sendImage(t, http.MethodPost, uploadURL, staff, ct, body)
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(b))
	var first productImage
	require.NoError(t, json.Unmarshal(b, &first))
	assert.Equal(t, "processing", first.Status)
	assert.Equal(t, [2]int{1600, 1000}, [2]int{first.Width, first.Height})
	assert.Equal(t, "Gaming laptop, open", first.AltText)
	assert.Equal(t, fmt.Sprintf("/api/products/%d/images/%s", f.laptop.ID, first.ID), resp.Header.Get("Location"))

	// A JPEG as the raw body, alt text in the query.
	resp, b = sendImage(t, http.MethodPost, uploadURL+"?alt_text=Keyboard", staff, "image/jpeg", imagestest.JPEG(t, imagestest.Photo(600, 800, false)))
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(b))
	var second productImage
	require.NoError(t, json.Unmarshal(b, &second))

	// The product page, cached while the images are still processing.
	productURL := fmt.Sprintf("%s/api/products/%d", f.url, f.laptop.ID)
	_, b = sendImage(t, http.MethodGet, productURL, "", "", nil)
	require.NotContains(t, string(b), `"status":"processing"`, "the storefront sees ready images only")

	ready := waitImage(t, f, staff, f.laptop.ID, first.ID, "ready")
	assert.True(t, ready.Primary)
	for _, c := range []struct {
		r    *rendition
		w, h int
	}{{ready.Thumbnail, 160, 100}, {ready.Card, 480, 300}, {ready.Full, 1200, 750}} {
		require.NotNil(t, c.r)
		assert.Equal(t, [2]int{c.w, c.h}, [2]int{c.r.Width, c.r.Height})
		assert.Equal(t, "image/png", c.r.FallbackType, "transparency keeps a PNG fallback")
		for url, format := range map[string]string{c.r.WebpURL: "webp", c.r.FallbackURL: "png"} {
			require.Regexp(t, `^/images/[0-9a-f]{64}\.(webp|png)$`, url)
			_, err := objects.Stat(ctx, strings.TrimPrefix(url, "/images/"))
			require.NoError(t, err, "the variant is in the bucket")
			resp, data := sendImage(t, http.MethodGet, f.url+url, "", "", nil)
			require.Equal(t, http.StatusOK, resp.StatusCode, url)
			assert.Equal(t, "public, max-age=31536000, immutable", resp.Header.Get("Cache-Control"))
			assert.Equal(t, "image/"+format, resp.Header.Get("Content-Type"))
			etag := resp.Header.Get("ETag")
			assert.NotEmpty(t, etag)
			m, got, err := image.Decode(bytes.NewReader(data))
			require.NoError(t, err, url)
			assert.Equal(t, format, got)
			assert.Equal(t, [2]int{c.w, c.h}, [2]int{m.Bounds().Dx(), m.Bounds().Dy()}, url)
			resp, _ = sendImage(t, http.MethodGet, f.url+url, "", "", nil, "If-None-Match", etag)
			assert.Equal(t, http.StatusNotModified, resp.StatusCode)
		}
	}
	jpegReady := waitImage(t, f, staff, f.laptop.ID, second.ID, "ready")
	assert.Equal(t, "image/jpeg", jpegReady.Card.FallbackType)
	assert.Equal(t, [2]int{360, 480}, [2]int{jpegReady.Card.Width, jpegReady.Card.Height})
	shoptest.RecordHistory(t, f.shop.Temporal, imageswf.WorkflowID(mustID(t, first.ID)), "../workflows/images/testdata/process_png.json")

	// The storefront's product page shows both (the outbox dropped the
	// cached page), primary first.
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, b = sendImage(t, http.MethodGet, productURL, "", "", nil)
		var p struct{ Images []productImage }
		require.NoError(t, json.Unmarshal(b, &p))
		if len(p.Images) == 2 {
			assert.Equal(t, first.ID, p.Images[0].ID)
			assert.True(t, p.Images[0].Primary)
			assert.Equal(t, "Keyboard", p.Images[1].AltText)
			break
		}
		require.True(t, time.Now().Before(deadline), "the product page has no images: %s", b)
		<-time.After(100 * time.Millisecond)
	}

	// The same file again is the same image.
	resp, b = sendImage(t, http.MethodPost, uploadURL, staff, ct, body)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	var again productImage
	require.NoError(t, json.Unmarshal(b, &again))
	assert.Equal(t, first.ID, again.ID)

	// Make the JPEG primary, then reorder back, then delete it.
	resp, b = sendImage(t, http.MethodPatch, fmt.Sprintf("%s/%s", uploadURL, second.ID), staff, "application/json", []byte(`{"primary": true, "alt_text": "Keyboard, lit"}`))
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	var updated productImage
	require.NoError(t, json.Unmarshal(b, &updated))
	assert.True(t, updated.Primary)
	assert.Equal(t, "Keyboard, lit", updated.AltText)
	resp, b = sendImage(t, http.MethodPut, uploadURL, staff, "application/json", fmt.Appendf(nil, `{"image_ids": [%s, %s]}`, first.ID, second.ID))
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	var list struct{ Images []productImage }
	require.NoError(t, json.Unmarshal(b, &list))
	require.Len(t, list.Images, 2)
	assert.Equal(t, first.ID, list.Images[0].ID)
	resp, b = sendImage(t, http.MethodPut, uploadURL, staff, "application/json", fmt.Appendf(nil, `{"image_ids": [%s]}`, first.ID))
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "every image must be listed: %s", b)

	resp, b = sendImage(t, http.MethodDelete, fmt.Sprintf("%s/%s", uploadURL, second.ID), staff, "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	_, err := objects.Stat(ctx, strings.TrimPrefix(jpegReady.Card.WebpURL, "/images/"))
	assert.ErrorIs(t, err, objectstore.ErrNotFound, "the deleted image's files are gone")
	resp, _ = sendImage(t, http.MethodGet, f.url+jpegReady.Card.WebpURL, "", "", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"), "a miss is never cached")
}

func mustID(t *testing.T, s string) int64 {
	var id int64
	_, err := fmt.Sscan(s, &id)
	require.NoError(t, err)
	return id
}

// A file whose header reads but whose data does not is accepted, then
// marked failed by the workflow without retries; it never shows.
func TestCorruptProductImageIsMarkedFailed(t *testing.T) {
	objects, err := objectstore.NewFS(t.TempDir())
	require.NoError(t, err)
	queue := testenv.UniqueName("test-images-")
	f := newServerWith(t, options{images: objects,
		imageFlows: imageswf.Client{Temporal: testenv.Temporal(t), TaskQueue: queue}})
	startImageWorker(t, f, objects, queue)
	admin := session(t, f, "ada", identity.RoleAdmin)
	whole := imagestest.PNG(t, imagestest.Photo(300, 300, false))
	resp, b := sendImage(t, http.MethodPost, fmt.Sprintf("%s/api/products/%d/images", f.url, f.laptop.ID), admin, "image/png", whole[:len(whole)/2])
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(b))
	var im productImage
	require.NoError(t, json.Unmarshal(b, &im))
	failed := waitImage(t, f, admin, f.laptop.ID, im.ID, "failed")
	assert.Contains(t, failed.Failure, "corrupt")
	assert.Nil(t, failed.Card)
	_, b = sendImage(t, http.MethodGet, fmt.Sprintf("%s/api/products/%d", f.url, f.laptop.ID), "", "", nil)
	assert.NotContains(t, string(b), im.ID)
}

type refuseFlows struct{ t *testing.T }

func (r refuseFlows) ProcessImage(context.Context, images.Image) error {
	r.t.Error("a refused upload started processing")
	return nil
}

var _ api.ImageFlows = refuseFlows{}

// Every bad upload is refused before anything is stored: no object, no row.
func TestBadProductImageUploadsStoreNothing(t *testing.T) {
	dir := t.TempDir()
	objects, err := objectstore.NewFS(dir)
	require.NoError(t, err)
	f := newServerWith(t, options{images: objects, imageFlows: refuseFlows{t}, imageLimits: images.Limits{MaxBytes: 64 << 10}})
	staff := session(t, f, "sam", identity.RoleStaff)
	customer := session(t, f, "carl", identity.RoleCustomer)
	url := fmt.Sprintf("%s/api/products/%d/images", f.url, f.laptop.ID)
	good := imagestest.PNG(t, imagestest.Photo(40, 30, false))
	ct, form := multipartBody(t, "ok.png", "image/png", good, "")
	big := bytes.Repeat([]byte{0}, 100<<10)
	copy(big, good)

	for _, c := range []struct {
		name        string
		url, token  string
		contentType string
		body        []byte
		status      int
	}{
		{"anonymous", url, "", ct, form, http.StatusUnauthorized},
		{"customer", url, customer, ct, form, http.StatusForbidden},
		{"unknown product", f.url + "/api/products/999999999/images", staff, ct, form, http.StatusNotFound},
		{"bad product id", f.url + "/api/products/abc/images", staff, ct, form, http.StatusBadRequest},
		{"text named .png", url, staff, "image/png", []byte("just some text, not an image"), http.StatusBadRequest},
		{"text in a form", url, staff, "", nil, http.StatusBadRequest},
		{"no content type", url, staff, "", good, http.StatusBadRequest},
		{"text/plain", url, staff, "text/plain", good, http.StatusBadRequest},
		{"declared jpeg, is png", url, staff, "image/jpeg", good, http.StatusBadRequest},
		{"form part without a type", url, staff, "", nil, http.StatusBadRequest},
		{"form without a file", url, staff, "", nil, http.StatusBadRequest},
		{"too large", url, staff, "image/png", big, http.StatusRequestEntityTooLarge},
		{"too large in a form", url, staff, "", nil, http.StatusRequestEntityTooLarge},
		{"decompression bomb", url, staff, "image/png", imagestest.BombPNG(50000, 50000), http.StatusBadRequest},
		// The alt text is checked before anything is stored.
		{"alt text not UTF-8", url + "?alt_text=%FF%FE", staff, "image/png", good, http.StatusBadRequest},
		{"alt text with NUL", url + "?alt_text=a%00b", staff, "image/png", good, http.StatusBadRequest},
		{"alt text of 301 characters", url + "?alt_text=" + strings.Repeat("%E5%86%99", 301), staff, "image/png", good, http.StatusBadRequest},
	} {
		body, contentType := c.body, c.contentType
		switch c.name {
		case "text in a form":
			contentType, body = multipartBody(t, "photo.png", "image/png", []byte("not an image at all, really"), "")
		case "form part without a type":
			contentType, body = multipartBody(t, "photo.png", "", good, "")
		case "form without a file":
			var b bytes.Buffer
			mw := multipart.NewWriter(&b)
			require.NoError(t, mw.WriteField("alt_text", "x"))
			require.NoError(t, mw.Close())
			contentType, body = mw.FormDataContentType(), b.Bytes()
		case "too large in a form":
			contentType, body = multipartBody(t, "big.png", "image/png", big, "")
		}
		resp, b := sendImage(t, http.MethodPost, c.url, c.token, contentType, body)
		assert.Equal(t, c.status, resp.StatusCode, "%s: %s", c.name, b)
		var e struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}
		if assert.NoError(t, json.Unmarshal(b, &e), "%s: %s", c.name, b) {
			assert.NotEmpty(t, e.Message, c.name)
			assert.NotContains(t, e.Message, "internal error", c.name)
			if c.status == http.StatusRequestEntityTooLarge {
				assert.Equal(t, 3, e.Code, "%s: invalid_argument", c.name)
				assert.Contains(t, e.Message, "too large", c.name)
			}
			if strings.HasPrefix(c.name, "alt text") {
				assert.Contains(t, e.Message, "alt_text", c.name)
			}
		}
	}

	var files []string
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	}))
	assert.Empty(t, files, "nothing was stored")
	var rows int
	require.NoError(t, f.shop.Pool.QueryRow(context.Background(), `SELECT count(*) FROM product_images`).Scan(&rows))
	assert.Zero(t, rows, "nothing was recorded")

	// The serving route answers 404 for anything but a stored variant's name.
	for _, p := range []string{"/images/" + strings.Repeat("a", 64) + ".webp", "/images/..%2F..%2Fetc%2Fpasswd", "/images/originals%2Fx.png",
		"/images/" + strings.Repeat("A", 64) + ".webp", "/images/x.webp"} {
		resp, _ := sendImage(t, http.MethodGet, f.url+p, "", "", nil)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, p)
		assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"), p)
	}
}

// imageFlowsDown cannot start a workflow while down (Temporal unreachable), and
// counts the starts otherwise.
type imageFlowsDown struct {
	down    *atomic.Bool
	started *atomic.Int32
}

func (d imageFlowsDown) ProcessImage(context.Context, images.Image) error {
	if d.down.Load() {
		return errors.New("temporal: connection refused")
	}
	d.started.Add(1)
	return nil
}

// An unreachable store or Temporal answers 503 with Retry-After (the upload
// may be sent again), and an image whose processing could not start is
// marked failed, not left processing; its file uploaded again is processed
// again. Alt texts count characters, not bytes.
func TestProductImageUploadOutages(t *testing.T) {
	good := imagestest.PNG(t, imagestest.Photo(40, 30, false))
	cjk := strings.Repeat("写", 150) // 150 characters, 450 bytes

	t.Run("store down", func(t *testing.T) {
		f := newServerWith(t, options{images: objectstore.Unavailable{Err: errors.New("bucket unreachable")}, imageFlows: refuseFlows{t}})
		staff := session(t, f, "sue", identity.RoleStaff)
		resp, b := sendImage(t, http.MethodPost, fmt.Sprintf("%s/api/products/%d/images", f.url, f.laptop.ID), staff, "image/png", good)
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, string(b))
		assert.Equal(t, "5", resp.Header.Get("Retry-After"))
		assert.Contains(t, string(b), "try again shortly")
		var rows int
		require.NoError(t, f.shop.Pool.QueryRow(context.Background(), `SELECT count(*) FROM product_images`).Scan(&rows))
		assert.Zero(t, rows)
	})

	t.Run("temporal down", func(t *testing.T) {
		objects, err := objectstore.NewFS(t.TempDir())
		require.NoError(t, err)
		flows := imageFlowsDown{down: &atomic.Bool{}, started: &atomic.Int32{}}
		flows.down.Store(true)
		f := newServerWith(t, options{images: objects, imageFlows: flows})
		staff := session(t, f, "sid", identity.RoleStaff)
		url := fmt.Sprintf("%s/api/products/%d/images?alt_text=", f.url, f.laptop.ID) + neturl.QueryEscape(cjk)
		resp, b := sendImage(t, http.MethodPost, url, staff, "image/png", good)
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, string(b))
		assert.Equal(t, "5", resp.Header.Get("Retry-After"))
		var status, failure, alt string
		require.NoError(t, f.shop.Pool.QueryRow(context.Background(),
			`SELECT status, failure, alt_text FROM product_images WHERE product_id = $1`, f.laptop.ID).Scan(&status, &failure, &alt))
		assert.Equal(t, "failed", status, "not left processing")
		assert.Equal(t, images.ReasonNotStarted, failure)
		assert.Equal(t, cjk, alt, "150 characters pass the 300-character limit")

		// Uploaded again once processing can start: processed again.
		flows.down.Store(false)
		resp, b = sendImage(t, http.MethodPost, url, staff, "image/png", good)
		assert.Equal(t, http.StatusOK, resp.StatusCode, string(b))
		assert.Contains(t, string(b), `"processing"`)
		assert.Equal(t, int32(1), flows.started.Load())
	})
}

// Package web holds the storefront and admin, a React app built by `make web`
// into dist/app and embedded here so that `shop api` serves it.
package web

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Bundle is the built app; ok is false when dist/app holds no build (the
// binary was built before `make web`).
func Bundle() (app fs.FS, ok bool) {
	app, err := fs.Sub(dist, "dist/app")
	if err != nil {
		return nil, false
	}
	if _, err := fs.Stat(app, "index.html"); err != nil {
		return nil, false
	}
	return app, true
}

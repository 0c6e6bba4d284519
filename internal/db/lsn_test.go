package db

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// An insert position just past a page header is the page boundary where
// replay ends; any other position is a record's end already.
func TestRecordEnd(t *testing.T) {
	const page, segment = 8192, 16 << 20
	for _, c := range []struct{ in, want LSN }{
		{3*segment + 5*page + 24, 3*segment + 5*page}, // short header
		{3*segment + 40, 3 * segment},                 // long header at a segment's start
		{3*segment + 24, 3*segment + 24},              // inside the long header: not a record end past a header
		{3*segment + 5*page + 48, 3*segment + 5*page + 48},
		{3*segment + 5*page, 3*segment + 5*page},
		{3*segment + 5*page + 40, 3*segment + 5*page + 40}, // 40 past a short header is a record's end
	} {
		assert.Equal(t, c.want, recordEnd(c.in, page, segment), "%s", c.in)
	}
}

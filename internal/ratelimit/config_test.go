package ratelimit_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/ratelimit"
)

func TestParseLimits(t *testing.T) {
	tests := []struct {
		in      string
		want    map[string]ratelimit.Limit
		wantErr string // substring; "" means success
	}{
		{in: "", want: map[string]ratelimit.Limit{}},
		{in: "  ", want: map[string]ratelimit.Limit{}},
		{
			in: "auth=10/1m, default=300/1m, login=5/1m:10",
			want: map[string]ratelimit.Limit{
				"auth":    {Rate: 10, Period: time.Minute},
				"default": {Rate: 300, Period: time.Minute},
				"login":   {Rate: 5, Period: time.Minute, Burst: 10},
			},
		},
		{
			in: "a=1/s,b=2/m,c=3/h,d=4/250ms:1,e=5/1h30m,",
			want: map[string]ratelimit.Limit{
				"a": {Rate: 1, Period: time.Second},
				"b": {Rate: 2, Period: time.Minute},
				"c": {Rate: 3, Period: time.Hour},
				"d": {Rate: 4, Period: 250 * time.Millisecond, Burst: 1},
				"e": {Rate: 5, Period: 90 * time.Minute},
			},
		},
		{in: " x = 7 / 10s : 2 ", want: map[string]ratelimit.Limit{"x": {Rate: 7, Period: 10 * time.Second, Burst: 2}}},
		{in: "auth", wantErr: `entry "auth": want name=RATE/PERIOD`},
		{in: "=1/m", wantErr: `entry "=1/m": name must be non-empty`},
		{in: "my auth=1/m", wantErr: `name must be non-empty without spaces`},
		{in: "auth=10", wantErr: `entry "auth=10": missing /PERIOD`},
		{in: "auth=x/1m", wantErr: `entry "auth=x/1m": rate "x" is not a positive integer`},
		{in: "auth=0/1m", wantErr: `rate "0" is not a positive integer`},
		{in: "auth=-3/1m", wantErr: `rate "-3" is not a positive integer`},
		{in: "auth=10/", wantErr: `period "" is not a positive duration`},
		{in: "auth=10/1d", wantErr: `entry "auth=10/1d": period "1d" is not a positive duration`},
		{in: "auth=10/0s", wantErr: `period "0s" is not a positive duration`},
		{in: "auth=10/-1m", wantErr: `period "-1m" is not a positive duration`},
		{in: "auth=10/1m:", wantErr: `burst "" is not a positive integer`},
		{in: "auth=10/1m:0", wantErr: `burst "0" is not a positive integer`},
		{in: "auth=10/1m:x", wantErr: `entry "auth=10/1m:x": burst "x"`},
		{in: "ok=1/s, bad=1/q", wantErr: `entry "bad=1/q"`},
		{in: "a=1/s,a=2/s", wantErr: `entry "a=2/s": duplicate name "a"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ratelimit.ParseLimits(tt.in)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestLimitStringRoundTrips(t *testing.T) {
	for _, l := range []ratelimit.Limit{
		{Rate: 10, Period: time.Minute},
		{Rate: 5, Period: time.Minute, Burst: 10},
		{Rate: 1, Period: 250 * time.Millisecond, Burst: 1},
		{Rate: 300, Period: 90 * time.Minute},
		{Rate: 7, Period: 1500 * time.Microsecond},
	} {
		s := l.String()
		got, err := ratelimit.ParseLimits("x=" + s)
		require.NoError(t, err, s)
		assert.Equal(t, l, got["x"], s)
	}
	assert.Equal(t, "10/1m0s", ratelimit.Limit{Rate: 10, Period: time.Minute}.String())
	assert.Equal(t, "5/1m0s:10", ratelimit.Limit{Rate: 5, Period: time.Minute, Burst: 10}.String())
}

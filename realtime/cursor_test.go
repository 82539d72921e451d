package realtime

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseCursor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		ok   bool
		want cursor
	}{
		{"7:57", true, cursor{auctions: []position{{7, 57}}}},
		{"7:0", true, cursor{auctions: []position{{7, 0}}}},
		{"7:57,8:12,u:4", true, cursor{auctions: []position{{7, 57}, {8, 12}}, user: 4, hasUser: true}},
		{"u:4", true, cursor{user: 4, hasUser: true}},
		{"u:4,7:1", true, cursor{auctions: []position{{7, 1}}, user: 4, hasUser: true}},
		{"s3:410", true, cursor{sales: []position{{3, 410}}}},
		{"s3:0,7:2,u:1", true, cursor{auctions: []position{{7, 2}}, sales: []position{{3, 0}}, user: 1, hasUser: true}},
		{"s3:1,s4:2", true, cursor{sales: []position{{3, 1}, {4, 2}}}},
		{"s3:1,s3:2", false, cursor{}},
		{"s0:1", false, cursor{}},
		{"s:1", false, cursor{}},
		{"s-3:1", false, cursor{}},
		{"S3:1", false, cursor{}},
		{"ss3:1", false, cursor{}},
		{"9223372036854775807:9223372036854775807", true, cursor{auctions: []position{{1<<63 - 1, 1<<63 - 1}}}},
		{"", false, cursor{}},
		{"7", false, cursor{}},
		{"7:", false, cursor{}},
		{":7", false, cursor{}},
		{"0:7", false, cursor{}},
		{"-7:1", false, cursor{}},
		{"7:-1", false, cursor{}},
		{"+7:1", false, cursor{}},
		{"7:+1", false, cursor{}},
		{"7: 1", false, cursor{}},
		{" 7:1", false, cursor{}},
		{"7:1,", false, cursor{}},
		{",7:1", false, cursor{}},
		{"7:1,,8:2", false, cursor{}},
		{"7:1,7:2", false, cursor{}},
		{"u:1,u:2", false, cursor{}},
		{"U:1", false, cursor{}},
		{"x:1", false, cursor{}},
		{"7:1:2", false, cursor{}},
		{"7:1_000", false, cursor{}},
		{"7:0x10", false, cursor{}},
		{"9223372036854775808:1", false, cursor{}},
		{"7:99999999999999999999", false, cursor{}},
		{"a7-57", false, cursor{}},
		{"7:1\x00", false, cursor{}},
		{strings.Repeat("1", maxCursorLen+1), false, cursor{}},
	}
	for _, tt := range tests {
		got, ok := parseCursor(tt.in)
		if ok != tt.ok || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseCursor(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseCursorChannelLimit(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for i := 1; i <= maxChannels+1; i++ {
		if i > 1 {
			b.WriteByte(',')
		}
		c := cursor{auctions: []position{{int64(i), 1}}}
		b.WriteString(c.String())
	}
	if _, ok := parseCursor(b.String()); ok {
		t.Fatalf("a cursor of %d auctions was accepted", maxChannels+1)
	}
}

func TestParseCursorSaleLimit(t *testing.T) {
	t.Parallel()
	var c cursor
	for i := 1; i <= maxSales+1; i++ {
		c.sales = append(c.sales, position{int64(i), 1})
	}
	if _, ok := parseCursor(c.String()); ok {
		t.Fatalf("a cursor of %d sales was accepted", maxSales+1)
	}
	c.sales = c.sales[:maxSales]
	if _, ok := parseCursor(c.String()); !ok {
		t.Fatalf("a cursor of %d sales was refused", maxSales)
	}
}

func TestCursorString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		c    cursor
		want string
	}{
		{cursor{}, ""},
		{cursor{auctions: []position{{7, 57}}}, "7:57"},
		{cursor{auctions: []position{{7, 57}, {8, 12}}, user: 4, hasUser: true}, "7:57,8:12,u:4"},
		{cursor{user: 0, hasUser: true}, "u:0"},
		{cursor{sales: []position{{3, 410}}}, "s3:410"},
		{cursor{auctions: []position{{7, 2}}, sales: []position{{3, 1}}, user: 4, hasUser: true}, "7:2,s3:1,u:4"},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.c, got, tt.want)
		}
	}
}

// FuzzParseCursor: any string is either rejected or parsed into a cursor
// that formats back to an equivalent cursor; nothing panics.
func FuzzParseCursor(f *testing.F) {
	for _, s := range []string{"7:57", "7:57,8:12,u:4", "s3:9,7:1", "u:0", "", ",", "7:1,7:1", "-1:2", "1:2:3", "u:u", "0:0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, ok := parseCursor(s)
		if !ok {
			if !reflect.DeepEqual(c, cursor{}) {
				t.Fatalf("rejected %q but returned %+v", s, c)
			}
			return
		}
		if len(c.auctions) > maxChannels {
			t.Fatalf("%q: %d auctions", s, len(c.auctions))
		}
		if len(c.sales) > maxSales {
			t.Fatalf("%q: %d sales", s, len(c.sales))
		}
		for _, p := range append(c.auctions, c.sales...) {
			if p.id <= 0 || p.seq < 0 {
				t.Fatalf("%q: bad position %+v", s, p)
			}
		}
		again, ok := parseCursor(c.String())
		if !ok || !reflect.DeepEqual(again, c) {
			t.Fatalf("%q -> %q -> %+v, %v", s, c.String(), again, ok)
		}
	})
}

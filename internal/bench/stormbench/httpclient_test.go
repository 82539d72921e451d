package stormbench

import (
	"bufio"
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
)

// TestBidRequestBytes checks the request the lean client writes, byte for
// byte, for amounts of several lengths (Content-Length is computed, not
// measured), and that a 201's receipt gives its bid id.
func TestBidRequestBytes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		for {
			var req strings.Builder
			length := 0
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				req.WriteString(line)
				if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
					length, _ = strconv.Atoi(strings.TrimSpace(v))
				}
				if line == "\r\n" {
					break
				}
			}
			body := make([]byte, length)
			if _, err := io.ReadFull(r, body); err != nil {
				return
			}
			req.Write(body)
			got <- req.String()
			answer := `{"auction_id":7, "bid_id": 12345,"amount":1}`
			io.WriteString(c, "HTTP/1.1 201 Created\r\nContent-Length: "+strconv.Itoa(len(answer))+"\r\n\r\n"+answer)
		}
	}()
	addr := ln.Addr().String()
	c := &bidConn{addr: addr, cookie: "gavel_session=tok"}
	defer c.close()
	for _, amount := range []int64{5, 20001, 1234567890123} {
		id, ok, err := postBid(context.Background(), c, 7, amount)
		if err != nil || !ok || id != 12345 {
			t.Fatalf("amount %d: id %d ok %v err %v", amount, id, ok, err)
		}
		body := `{"amount":` + strconv.FormatInt(amount, 10) + `}`
		want := "POST /api/v1/auctions/7/bids HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/json\r\nCookie: gavel_session=tok\r\n" +
			"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
		if g := <-got; g != want {
			t.Errorf("amount %d: request\n%q\nwant\n%q", amount, g, want)
		}
	}
}

func TestBidID(t *testing.T) {
	for body, want := range map[string]int64{
		`{"bid_id":42}`:                      42,
		`{"auction_id":9,"bid_id": 7,"x":1}`: 7,
		`{"bid_id":0}`:                       0,
		`{"auction_id":9}`:                   0,
		`{"bid_id":"x"}`:                     0,
	} {
		id, err := bidID([]byte(body))
		if id != want || (err == nil) != (want != 0) {
			t.Errorf("bidID(%s) = %d, %v; want %d", body, id, err, want)
		}
	}
}

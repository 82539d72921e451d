package stormbench

// A lean HTTP/1.1 keep-alive client for the storm: one connection per
// bidder, a request written from one reused buffer, and a response read
// with one bufio.Reader. Go's net/http client spent about as much CPU per
// bid as the server it measured (two goroutines per connection, a
// transport lock shared by 512 bidders, a cookie jar per request), on the
// same two cores; see docs/BENCHMARKS.md.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// bidConn is one bidder's connection to the node.
type bidConn struct {
	addr   string // host:port
	cookie string // "gavel_session=..."
	conn   net.Conn
	r      *bufio.Reader
	// head is the request's constant part after the auction id, encoded
	// once: "/bids HTTP/1.1", Host, Content-Type, Cookie, "Content-Length: ".
	head []byte
	req  []byte
	body []byte
	// deadline is the connection's current deadline: refreshed when less
	// than half of it is left, not on every request (each SetDeadline
	// resets a runtime timer).
	deadline time.Time
}

// connTimeout is the storm's own timeout, as net/http's Client.Timeout was.
const connTimeout = 30 * time.Second

// response is what the storm needs of an answer.
type response struct {
	status int
	body   []byte
}

// post sends a bid of amount on auction and reads the answer. A connection
// the server closed is redialled once.
func (c *bidConn) post(ctx context.Context, auction, amount int64) (response, error) {
	if c.head == nil {
		c.head = fmt.Appendf(nil, "/bids HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nCookie: %s\r\nContent-Length: ", c.addr, c.cookie)
	}
	c.req = append(c.req[:0], "POST /api/v1/auctions/"...)
	c.req = strconv.AppendInt(c.req, auction, 10)
	c.req = append(c.req, c.head...)
	// {"amount":N}: 11 bytes and N's digits.
	c.req = strconv.AppendInt(c.req, int64(11+digits(amount)), 10)
	c.req = append(c.req, "\r\n\r\n{\"amount\":"...)
	c.req = strconv.AppendInt(c.req, amount, 10)
	c.req = append(c.req, '}')
	for attempt := 0; ; attempt++ {
		resp, err := c.roundTrip(ctx)
		if err == nil || attempt > 0 || ctx.Err() != nil || !reusedConnErr(err) {
			return resp, err
		}
	}
}

// digits is the length of n in decimal.
func digits(n int64) int {
	d := 1
	if n < 0 {
		d, n = 2, -n
	}
	for ; n >= 10; n /= 10 {
		d++
	}
	return d
}

// reusedConnErr reports an error that a keep-alive connection closed by
// the server gives on its next use.
func reusedConnErr(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, errConnReset)
}

var errConnReset = errors.New("connection reset")

func (c *bidConn) roundTrip(ctx context.Context) (response, error) {
	if c.conn == nil {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", c.addr)
		if err != nil {
			return response{}, err
		}
		c.conn, c.deadline = conn, time.Time{}
		if c.r == nil {
			c.r = bufio.NewReaderSize(conn, 4096)
		} else {
			c.r.Reset(conn)
		}
	}
	if now := time.Now(); c.deadline.Sub(now) < connTimeout/2 {
		c.deadline = now.Add(connTimeout)
		_ = c.conn.SetDeadline(c.deadline)
	}
	if _, err := c.conn.Write(c.req); err != nil {
		c.close()
		return response{}, fmt.Errorf("%w: %w", errConnReset, err)
	}
	resp, keep, err := c.read()
	if err != nil || !keep {
		c.close()
	}
	return resp, err
}

// read parses one response: the status line, the headers it needs
// (Content-Length, Connection), and the body.
func (c *bidConn) read() (response, bool, error) {
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return response{}, false, err
	}
	// "HTTP/1.1 201 Created\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return response{}, false, fmt.Errorf("bad status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return response{}, false, fmt.Errorf("bad status line %q", line)
	}
	length, keep := -1, true
	for {
		h, err := c.r.ReadSlice('\n')
		if err != nil {
			return response{}, false, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			continue
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil {
				return response{}, false, fmt.Errorf("bad Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Connection")) && bytes.EqualFold(value, []byte("close")):
			keep = false
		}
	}
	if length < 0 {
		return response{}, false, errors.New("response without Content-Length")
	}
	if cap(c.body) < length {
		c.body = make([]byte, length)
	}
	c.body = c.body[:length]
	if _, err := io.ReadFull(c.r, c.body); err != nil {
		return response{}, false, err
	}
	return response{status: status, body: c.body}, keep, nil
}

func (c *bidConn) close() {
	if c.conn != nil {
		_ = c.conn.Close()
		c.conn = nil
	}
}

// bidID reads the receipt's bid id from a 201 body: the digits after
// "bid_id":, without decoding the rest of the receipt.
func bidID(body []byte) (int64, error) {
	_, after, ok := bytes.Cut(body, []byte(`"bid_id":`))
	if !ok {
		return 0, fmt.Errorf("receipt without bid_id: %s", body)
	}
	after = bytes.TrimLeft(after, " ")
	n := 0
	for n < len(after) && after[n] >= '0' && after[n] <= '9' {
		n++
	}
	id, err := strconv.ParseInt(string(after[:n]), 10, 64)
	if err != nil || id == 0 {
		return 0, fmt.Errorf("receipt without bid_id: %s", body)
	}
	return id, nil
}

package chaos

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Request is one HTTP exchange the storm or a watcher had with a node.
type Request struct {
	Kind       string // "bid", "setup", "stream"
	Node       string // the node's service name
	Start, End time.Time
	Status     int    // 0: no answer (refused, reset, or the client's timeout)
	Code       string // problem+json code, for errors
	RetryAfter string // the Retry-After header
	// StreamRetry marks a stream answered with only a retry delay (a
	// dependency is down): 200 for the browser, a refusal for us.
	StreamRetry bool
	Err         string
}

// Took is how long the request waited for its answer.
func (r Request) Took() time.Duration { return r.End.Sub(r.Start) }

// journal collects requests from many goroutines.
type journal struct {
	mu   sync.Mutex
	reqs []Request
}

func (j *journal) add(r Request) {
	j.mu.Lock()
	j.reqs = append(j.reqs, r)
	j.mu.Unlock()
}

func (j *journal) all() []Request {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]Request(nil), j.reqs...)
}

// httpClient is shared by every simulated person: connections are pooled
// per node, and no cookie jar (each person sends their own session).
func newHTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     30 * time.Second,
		},
	}
}

// person is one account: its id and session cookie.
type person struct {
	ID     int64
	Email  string
	cookie string
	// from is the client address the person's requests name in
	// X-Forwarded-For, as Caddy would for a person at home: the nodes
	// trust the loopback proxy (NodeEnv), so each person meets the
	// per-address limits (registrations, logins) alone, not the whole run.
	from string
}

// addressOf gives each email a stable address of its own in 10.0.0.0/8.
func addressOf(email string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(email))
	v := h.Sum32()
	return fmt.Sprintf("10.%d.%d.%d", byte(v>>16), byte(v>>8), byte(v)|1)
}

// call sends one JSON request as p and records it. It returns the status
// (0 for no answer) and the body.
func call(ctx context.Context, hc *http.Client, j *journal, kind string, node *NodeProc, p *person, method, path string, body any, header map[string]string) (int, []byte, http.Header) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, node.URL+path, rd)
	if err != nil {
		return 0, nil, nil
	}
	req.Header.Set("Content-Type", "application/json")
	if p != nil && p.cookie != "" {
		req.Header.Set("Cookie", "gavel_session="+p.cookie)
	}
	if p != nil && p.from != "" {
		req.Header.Set("X-Forwarded-For", p.from)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	r := Request{Kind: kind, Node: node.Service, Start: time.Now()}
	res, err := hc.Do(req)
	r.End = time.Now()
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, nil // the run ended: not an answer
		}
		r.Err = err.Error()
		j.add(r)
		return 0, nil, nil
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	r.End = time.Now()
	r.Status, r.RetryAfter = res.StatusCode, res.Header.Get("Retry-After")
	if res.StatusCode >= 400 {
		var pr struct {
			Code string `json:"code"`
		}
		_ = json.Unmarshal(data, &pr)
		r.Code = pr.Code
	}
	j.add(r)
	return res.StatusCode, data, res.Header
}

// sessionCookie reads the session token from a login answer.
func sessionCookie(h http.Header) string {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == "gavel_session" {
			return c.Value
		}
	}
	return ""
}

// signUp registers an account and logs it in, on any node that answers.
func signUp(ctx context.Context, hc *http.Client, j *journal, nodes []*NodeProc, email, name string) (*person, error) {
	const password = "chaos-password"
	p := &person{Email: email, from: addressOf(email)}
	var lastErr error
	// Up to a minute: a node still starting answers 503 for a while, and
	// longer on a loaded machine.
	for attempt := range 120 {
		node := nodes[attempt%len(nodes)]
		if p.ID == 0 {
			code, body, _ := call(ctx, hc, j, "setup", node, p, http.MethodPost, "/api/v1/users",
				map[string]any{"email": email, "password": password, "name": name}, nil)
			switch code {
			case http.StatusCreated:
				var u struct {
					ID int64 `json:"id"`
				}
				_ = json.Unmarshal(body, &u)
				p.ID = u.ID
			case http.StatusConflict:
				// Registered by an attempt whose answer was lost.
				p.ID = -1
			default:
				lastErr = fmt.Errorf("register %s: %d %s", email, code, body)
				sleep(ctx, 500*time.Millisecond)
				continue
			}
		}
		code, body, h := call(ctx, hc, j, "setup", node, p, http.MethodPost, "/api/v1/session",
			map[string]any{"email": email, "password": password}, nil)
		if code == http.StatusOK {
			p.cookie = sessionCookie(h)
			var u struct {
				ID int64 `json:"id"`
			}
			if json.Unmarshal(body, &u) == nil && u.ID > 0 {
				p.ID = u.ID
			}
			return p, nil
		}
		lastErr = fmt.Errorf("log in %s: %d %s", email, code, body)
		sleep(ctx, 500*time.Millisecond)
	}
	return nil, lastErr
}

func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// sseEvent is one Server-Sent Event as a watcher received it.
type sseEvent struct {
	id, typ, data string
	retry         int // the retry field, in ms, if the event set one
}

// readSSE parses an event stream, handing each event to fn, until the
// stream ends or fn returns false.
func readSSE(r io.Reader, fn func(sseEvent) bool) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var ev sseEvent
	var data strings.Builder
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		switch {
		case line == "":
			if data.Len() > 0 || ev.retry > 0 {
				ev.data = data.String()
				if !fn(ev) {
					return nil
				}
			}
			ev, data = sseEvent{id: ev.id}, strings.Builder{}
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "id: "):
			ev.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.typ = line[7:]
		case strings.HasPrefix(line, "data: "):
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			data.WriteString(line[6:])
		case strings.HasPrefix(line, "retry: "):
			_, _ = fmt.Sscan(line[7:], &ev.retry)
		}
	}
}

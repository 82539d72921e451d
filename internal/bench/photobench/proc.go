package photobench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// server is a gavel node in a child process, as deployed: its RSS is the
// node's alone.
type server struct {
	cmd  *exec.Cmd
	url  string
	logs string
}

// startServer runs `exe serve` on a free loopback port with a data
// directory under dir, on databaseURL (empty: SQLite), with no demo and
// nothing of this process's environment but PATH and HOME.
func startServer(ctx context.Context, exe, dir, databaseURL string) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	logs := filepath.Join(dir, "server.log")
	logf, err := os.Create(logs)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(exe, "serve")
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"GAVEL_ADDR=" + addr, "GAVEL_DATA_DIR=" + filepath.Join(dir, "data"),
		"GAVEL_DEMO=off", "GAVEL_LOG_LEVEL=warn", "GAVEL_NODE=photobench",
	}
	if databaseURL != "" {
		cmd.Env = append(cmd.Env, "DATABASE_URL="+databaseURL)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, url: "http://" + addr, logs: logs}
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(s.url + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.stop()
			return nil, fmt.Errorf("the server did not become ready within 60 s; see %s", logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop ends the server with SIGTERM and waits for it.
func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

// memory reads the server's resident set (VmRSS) and its peak (VmHWM), in
// bytes.
func (s *server) memory() (rss, peak int64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(s.cmd.Process.Pid) + "/status")
	if err != nil {
		return 0, 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb << 10
		case "VmHWM:":
			peak = kb << 10
		}
	}
	return rss, peak, nil
}

// client runs a client process: `exe bench photos --client …` at the
// given nice value, and decodes its Result.
func runClient(ctx context.Context, exe string, nice int, args ...string) (Result, error) {
	argv := append([]string{"bench", "photos"}, args...)
	cmd := exec.CommandContext(ctx, exe, argv...)
	if nice > 0 {
		// Through nice(1), so every thread the client starts inherits it.
		cmd = exec.CommandContext(ctx, "nice", append([]string{"-n", strconv.Itoa(nice), exe}, argv...)...)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Run(); err != nil {
		return Result{}, fmt.Errorf("client %v: %w: %s", args, err, bytes.TrimSpace(stderr.Bytes()))
	}
	var r Result
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		return Result{}, fmt.Errorf("client output %q: %w", stdout.String(), err)
	}
	return r, nil
}

// apiClient makes the set-up calls of a run.
type apiClient struct {
	base string
	http *http.Client
}

// call sends a JSON request and decodes the JSON answer into out.
func (a apiClient) call(method, path, cookie string, in, out any, body []byte, ctype string) (*http.Response, error) {
	if in != nil {
		body, _ = json.Marshal(in)
		ctype = "application/json"
	}
	req, err := http.NewRequest(method, a.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if cookie != "" {
		req.Header.Set("Cookie", "gavel_session="+cookie)
	}
	res, err := a.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		var p map[string]any
		_ = json.NewDecoder(res.Body).Decode(&p)
		return res, fmt.Errorf("%s %s: %d %v", method, path, res.StatusCode, p["detail"])
	}
	if out != nil {
		return res, json.NewDecoder(res.Body).Decode(out)
	}
	return res, nil
}

// seller registers a user, logs in, lists an auction and returns the
// auction id and the session cookie.
func (a apiClient) seller(i int) (auction int64, cookie string, err error) {
	email := fmt.Sprintf("photobench-%d-%d@example.com", time.Now().UnixNano(), i)
	if _, err := a.call("POST", "/api/v1/users", "", map[string]string{"email": email, "password": "photobench-pw", "name": "Bench Seller"}, nil, nil, ""); err != nil {
		return 0, "", err
	}
	res, err := a.call("POST", "/api/v1/session", "", map[string]string{"email": email, "password": "photobench-pw"}, nil, nil, "")
	if err != nil {
		return 0, "", err
	}
	for _, c := range res.Cookies() {
		if c.Name == "gavel_session" {
			cookie = c.Value
		}
	}
	if cookie == "" {
		return 0, "", errors.New("login set no session cookie")
	}
	var created struct {
		ID int64 `json:"id"`
	}
	in := map[string]any{"title": "Bench lot", "currency": "EUR", "start_price": 1000,
		"ends_at": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)}
	if _, err := a.call("POST", "/api/v1/auctions", cookie, in, &created, nil, ""); err != nil {
		return 0, "", err
	}
	return created.ID, cookie, nil
}

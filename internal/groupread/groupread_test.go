package groupread

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// store is a ReadFunc over a map that records every query; gate, if set,
// holds each query until a value is sent on it.
type store struct {
	mu      sync.Mutex
	data    map[int]string
	queries [][]int
	gate    chan struct{}
	started chan []int
	fail    map[int]error
}

func (s *store) read(ctx context.Context, keys []int) (map[int]string, error) {
	s.mu.Lock()
	s.queries = append(s.queries, slices.Clone(keys))
	s.mu.Unlock()
	if s.started != nil {
		s.started <- slices.Clone(keys)
	}
	if s.gate != nil {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	out := map[int]string{}
	for _, k := range keys {
		if err := s.fail[k]; err != nil {
			return nil, err
		}
		s.mu.Lock()
		v, ok := s.data[k]
		s.mu.Unlock()
		if ok {
			out[k] = v
		}
	}
	return out, nil
}

func mustGet(t *testing.T, r *Reader[int, string], k int) (string, bool) {
	t.Helper()
	v, ok, err := r.Get(context.Background(), k)
	if err != nil {
		t.Fatalf("Get(%d): %v", k, err)
	}
	return v, ok
}

// TestManyCallersFewQueries: callers that arrive while a query is in
// flight share the next one, and each gets its own key's value.
func TestManyCallersFewQueries(t *testing.T) {
	t.Parallel()
	s := &store{data: map[int]string{}, gate: make(chan struct{}), started: make(chan []int, 10)}
	for i := range 1000 {
		if i%10 != 0 {
			s.data[i] = fmt.Sprint("v", i)
		}
	}
	r := New(s.read, Options{Chunk: 300})
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	// The first caller's query is held, so the other 999 pile up behind it.
	first := make(chan struct{})
	wg.Go(func() {
		close(first)
		if v, ok, err := r.Get(context.Background(), 1); err != nil || !ok || v != "v1" {
			errs <- fmt.Errorf("Get(1) = %q, %v, %v", v, ok, err)
		}
	})
	<-first
	<-s.started
	for i := range 1000 {
		if i == 1 {
			continue
		}
		wg.Go(func() {
			v, ok, err := r.Get(context.Background(), i)
			want := i%10 != 0
			if err != nil || ok != want || (ok && v != fmt.Sprint("v", i)) {
				errs <- fmt.Errorf("Get(%d) = %q, %v, %v", i, v, ok, err)
			}
		})
	}
	// Wait until all 999 have joined the pending batch.
	deadline := time.Now().Add(30 * time.Second)
	for req, _ := r.Stats(); req < 1000; req, _ = r.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("only %d callers joined", req)
		}
		time.Sleep(time.Millisecond)
	}
	go func() {
		for range s.started {
			s.gate <- struct{}{}
		}
	}()
	s.gate <- struct{}{}
	wg.Wait()
	close(s.started)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// One query for the first caller, then 999 keys in chunks of 300.
	if _, reads := r.Stats(); reads != 5 {
		t.Fatalf("%d queries for 1000 callers, want 5 (%v)", reads, len(s.queries))
	}
}

// TestNeverJoinsAReadInFlight: a caller that arrives while a query is
// running waits for a new one, so it sees writes made before its call.
func TestNeverJoinsAReadInFlight(t *testing.T) {
	t.Parallel()
	s := &store{data: map[int]string{7: "old"}, gate: make(chan struct{}), started: make(chan []int, 2)}
	r := New(s.read, Options{})
	first := make(chan string)
	go func() {
		v, _ := mustGet(t, r, 7)
		first <- v
	}()
	<-s.started
	// The first query is in flight (it read nothing yet, but a real store
	// may already have); the value changes, then a second caller arrives.
	s.mu.Lock()
	s.data[7] = "new"
	s.mu.Unlock()
	second := make(chan string)
	go func() {
		v, _ := mustGet(t, r, 7)
		second <- v
	}()
	for req, _ := r.Stats(); req < 2; req, _ = r.Stats() {
		time.Sleep(time.Millisecond)
	}
	s.gate <- struct{}{}
	<-first
	select {
	case keys := <-s.started:
		if !slices.Equal(keys, []int{7}) {
			t.Fatalf("second query for %v", keys)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the second caller did not get a query of its own")
	}
	s.gate <- struct{}{}
	if v := <-second; v != "new" {
		t.Fatalf("second caller got %q from a read that began before its call", v)
	}
}

// TestErrorsPerChunk: a failed chunk fails its callers and the chunks
// after it, not the chunks before; the next batch reads again.
func TestErrorsPerChunk(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	s := &store{data: map[int]string{1: "a", 2: "b", 3: "c"}, fail: map[int]error{2: boom}}
	r := New(s.read, Options{Chunk: 1})
	r.mu.Lock() // hold the loop so all three join one batch
	r.running = true
	r.mu.Unlock()
	type res struct {
		k   int
		v   string
		err error
	}
	out := make(chan res, 3)
	for _, k := range []int{1, 2, 3} {
		go func() {
			v, _, err := r.Get(context.Background(), k)
			out <- res{k, v, err}
		}()
	}
	for req, _ := r.Stats(); req < 3; req, _ = r.Stats() {
		time.Sleep(time.Millisecond)
	}
	go r.loop()
	got := map[int]res{}
	for range 3 {
		x := <-out
		got[x.k] = x
	}
	if got[1].err != nil || got[1].v != "a" {
		t.Errorf("key 1 (chunk before the failure) = %+v", got[1])
	}
	if !errors.Is(got[2].err, boom) || !errors.Is(got[3].err, boom) {
		t.Errorf("keys 2 and 3 = %+v, %+v; want boom", got[2], got[3])
	}
	if _, reads := r.Stats(); reads != 2 {
		t.Errorf("%d queries, want 2 (the chunk after the failure is not tried)", reads)
	}
	delete(s.fail, 2)
	if v, ok := mustGet(t, r, 3); !ok || v != "c" {
		t.Errorf("after the failure: %q, %v", v, ok)
	}
}

// TestCallerLeaves: a caller whose context ends stops waiting; the read
// still serves the others, and a panicking read fails its callers without
// stopping the reader.
func TestCallerLeaves(t *testing.T) {
	t.Parallel()
	s := &store{data: map[int]string{1: "a"}, gate: make(chan struct{})}
	r := New(s.read, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, _, err := r.Get(ctx, 1); errc <- err }()
	for req, _ := r.Stats(); req < 1; req, _ = r.Stats() {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Get after cancel = %v", err)
	}
	s.gate <- struct{}{}

	p := New(func(context.Context, []int) (map[int]string, error) { panic("bad read") }, Options{})
	if _, _, err := p.Get(context.Background(), 1); err == nil {
		t.Fatal("a panicking read returned no error")
	}
	if _, _, err := p.Get(context.Background(), 2); err == nil {
		t.Fatal("the reader stopped after a panic")
	}
}

// TestRefresh: a refresh joins the next read and returns at once.
func TestRefresh(t *testing.T) {
	t.Parallel()
	s := &store{data: map[int]string{1: "a"}, started: make(chan []int, 1)}
	r := New(s.read, Options{})
	r.Refresh(1)
	select {
	case keys := <-s.started:
		if !slices.Equal(keys, []int{1}) {
			t.Fatalf("refresh read %v", keys)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a refresh started no read")
	}
}

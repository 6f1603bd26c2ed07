package debarchive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"
)

const (
	retries      = 3
	firstBackoff = 500 * time.Millisecond
)

func defaultClient() *http.Client {
	return &http.Client{
		Timeout: 10 * time.Minute,
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   30 * time.Second,
			ResponseHeaderTimeout: 60 * time.Second,
			MaxIdleConnsPerHost:   4,
		},
	}
}

// statusError is a non-200 answer.
type statusError struct {
	code   int
	status string
}

func (e *statusError) Error() string { return e.status }

func isNotFound(err error) bool {
	var se *statusError
	return errors.As(err, &se) && (se.code == http.StatusNotFound || se.code == http.StatusGone)
}

// transient reports failures worth another attempt: 5xx and 429 answers,
// and connections that broke or were reset.
func transient(err error) bool {
	var se *statusError
	if errors.As(err, &se) {
		return se.code >= 500 || se.code == http.StatusTooManyRequests
	}
	var op *net.OpError
	var ne net.Error
	return errors.As(err, &op) || (errors.As(err, &ne) && ne.Timeout()) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
}

// get returns at most limit bytes of the body at url, retrying transient
// failures with doubling backoff. Callers pass one byte more than they
// accept, so an oversized answer shows without being read in full.
func get(ctx context.Context, client *http.Client, url string, limit int64) ([]byte, error) {
	var err error
	for attempt := 0; ; attempt++ {
		var b []byte
		b, err = getOnce(ctx, client, url, limit)
		if err == nil {
			return b, nil
		}
		if !transient(err) || attempt >= retries || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(firstBackoff << attempt):
		}
	}
	return nil, err
}

func getOnce(ctx context.Context, client *http.Client, url string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, &statusError{code: resp.StatusCode, status: resp.Status}
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return nil, fmt.Errorf("reading: %w", err)
	}
	return b, nil
}

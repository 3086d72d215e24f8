package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/trailwatch/trailwatch/internal/notify"
	"github.com/trailwatch/trailwatch/internal/notify/notifytest"
	"github.com/trailwatch/trailwatch/internal/render"
	"github.com/trailwatch/trailwatch/internal/secret"
)

// TestRedirectIsAFailedSend: a receiver answering 307 to another host gets
// nothing re-posted there, no secret header and no Referer reach that host,
// and the send fails, permanently, naming the status and the host alone.
func TestRedirectIsAFailedSend(t *testing.T) {
	const apiKey = "4p1-k3y-r3d1r3ct-d1st1nct"
	var mu sync.Mutex
	var stolen []*http.Request
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		stolen = append(stolen, r.Clone(context.Background()))
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(evil.Close)
	evilURL, _ := url.Parse(evil.URL)
	for _, status := range []int{301, 302, 303, 307, 308} {
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", evil.URL+"/collect/"+pathToken+"?from="+url.QueryEscape(r.URL.String()))
			w.WriteHeader(status)
		}))
		t.Cleanup(hook.Close)
		n, err := New(Options{
			URL:     secret.New(hook.URL + "/ingest/" + pathToken),
			Headers: map[string]secret.Secret{"X-Api-Key": secret.New(apiKey)},
			// The client a caller gives follows redirects by default.
			Client: &http.Client{},
		})
		if err != nil {
			t.Fatal(err)
		}
		clock := notifytest.NewClock()
		err = clock.Retrier(nil).Deliver(context.Background(), n, &render.Payload{Receiver: "siem", Kind: "webhook", Body: []byte(`{"a":1}`)}, notifytest.Group("siem"))
		var de *notify.DeliveryError
		if !errors.As(err, &de) || !de.Permanent || de.Attempts != 1 {
			t.Fatalf("%d: err = %v", status, err)
		}
		msg := err.Error()
		for _, want := range []string{fmt.Sprintf("webhook answered %d %s to host %s", status, http.StatusText(status), evilURL.Host), "never follow"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%d: error %q does not say %q", status, msg, want)
			}
		}
		if strings.Contains(msg, "/collect") {
			t.Errorf("%d: error quotes more of the redirect than its host: %s", status, msg)
		}
		notifytest.LeaksAnyForm(t, []string{pathToken, apiKey}, msg)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, r := range stolen {
		t.Errorf("the redirect target got %s %s with X-Api-Key %q and Referer %q", r.Method, r.URL, r.Header.Get("X-Api-Key"), r.Header.Get("Referer"))
	}
}

// TestRefererCannotBeConfigured: a request never carries a Referer; the
// header cannot be configured.
func TestRefererCannotBeConfigured(t *testing.T) {
	_, err := New(Options{URL: secret.New("https://siem.example.test/ingest/" + pathToken), Headers: map[string]secret.Secret{"referer": secret.New("https://example.test/")}})
	if err == nil || err.Error() != `webhook: header "referer" is set by trailwatch and cannot be configured` {
		t.Errorf("err = %v", err)
	}
}

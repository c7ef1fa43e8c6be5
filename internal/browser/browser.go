// Package browser opens a page in a real headless Chromium (Debian's chromium, driven over the
// DevTools protocol by chromedp) for tests of what a person reads: the console errors the
// page raised and every network request it made are recorded.
package browser

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Page is a loaded page and what it did while loading.
type Page struct {
	Ctx context.Context

	mu       sync.Mutex
	requests []string
	console  []string
}

// executable finds Chromium; without one a test skips on a laptop and fails in CI.
func executable(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no chromium: hack/testenv.sh up installs it (apt-get install chromium)")
	}
	t.Skip("no chromium here; CI installs it")
	return ""
}

// Open loads the file in a new headless browser, closed when the test ends.
func Open(t testing.TB, path string) *Page {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(executable(t)),
		chromedp.WindowSize(1400, 1000), chromedp.UserDataDir(t.TempDir()))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	p := &Page{Ctx: ctx}
	// Subscribed before the navigation, read as they come: a page's requests and messages
	// while it loads are what the test is about.
	console := chromedp.Console(ctx)
	requests := chromedp.Events(ctx, network.RequestWillBeSent)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning || m.IsException() {
				p.add(&p.console, m.String())
			}
		}
	}()
	go func() {
		for ev, err := range requests {
			if err != nil {
				return
			}
			p.add(&p.requests, ev.Request.URL)
		}
	}()
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+path), chromedp.WaitReady("body")); err != nil {
		t.Fatalf("loading %s in chromium: %v", path, err)
	}
	// A round trip through the page: what it did while loading has arrived by then.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[string]("document.readyState")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	return p
}

func (p *Page) add(list *[]string, s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	*list = append(*list, s)
}

// Requests are the URLs the page asked for, the page itself first.
func (p *Page) Requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.requests...)
}

// Console are the errors and warnings the page logged or threw.
func (p *Page) Console() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.console...)
}

// Screenshot writes a PNG of what the window shows: the top of the page.
func (p *Page) Screenshot(t testing.TB, path string) {
	t.Helper()
	png, err := chromedp.Run(p.Ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
}

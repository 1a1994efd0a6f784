package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// browser returns a headless Chromium context, or skips the test where no Chromium is
// installed (CI installs the Debian package chromium and fails instead).
func browser(t *testing.T) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no Chromium: .ci/run installs the chromium package")
		}
		t.Skip("no Chromium installed (apt-get install chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 1000), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}

// artifacts is where the console tests write their screenshots: FLOE_TEST_ARTIFACTS, or a
// folder under the system's temporary folder.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("FLOE_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "floe-console-screenshots")
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	path := filepath.Join(artifacts(t), name+".png")
	require.NoError(t, os.WriteFile(path, png, 0o644))
	t.Logf("screenshot: %s", path)
}

// waitJS waits until a JavaScript expression is true on the page. An evaluation that fails
// while the page navigates is tried again.
func waitJS(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		var ok bool
		if ok, err = chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+expr+")")); err == nil && ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string]("document.body.innerText"))
	t.Fatalf("waiting for %s (%s): last error %v\npage text:\n%s", what, expr, err, text)
}

// click clicks the element sel names, as a person would with the mouse or the keyboard.
func click(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	waitJS(t, ctx, sel, fmt.Sprintf(`document.querySelector(%q)`, sel))
	_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`(document.querySelector(%q).click(), true)`, sel)))
	require.NoError(t, err)
}

func textOf(sel string) string {
	return fmt.Sprintf(`(document.querySelector(%q) || {textContent: ""}).textContent`, sel)
}

// TestConsoleInABrowser drives the web console in headless Chromium as a person would:
// sign in with a key, create a topic, send, browse, open a message and its trace, watch a
// group's lag fall while it consumes, set and copy a group's offsets, change its retry
// policy, resend a message to a group, and redrive dead letters with their progress.
func TestConsoleInABrowser(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	cfg := folderConfig(t)
	cfg.RequireAuth = true
	cfg.BootstrapAdminKey = bootstrapKey
	cfg.ClientsInterval = 200 * time.Millisecond
	cfg.LagHistoryInterval = 300 * time.Millisecond
	n, _ := startNode(t, cfg)
	base := "http://" + n.Addr()
	api := func(want int, method, path string, in any) answer {
		t.Helper()
		a := call(t, method, base+path, bootstrapKey, in)
		require.Equal(t, want, a.status, "%s %s: %s", method, path, a.body)
		return a
	}

	// / leads to the console; without a key the console asks for one.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/")))
	waitJS(t, ctx, "the sign-in form", `location.pathname === "/console/login" && !!document.querySelector("#key")`)
	// Every form control has a label, and the key field has the focus.
	waitJS(t, ctx, "labelled controls", `[...document.querySelectorAll("input,select,textarea")].every(e => e.labels && e.labels.length > 0)`)
	waitJS(t, ctx, "focus on the key", `document.activeElement && document.activeElement.id === "key"`)
	require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys("#key", bootstrapKey+"\n")))
	waitJS(t, ctx, "the overview", `location.pathname === "/console/" && !!document.querySelector("#stat-topics")`)

	// Create a topic with the form.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(`form[aria-label="Create a topic"] input[name=name]`, "orders"),
		chromedp.SetValue(`form[aria-label="Create a topic"] input[name=queues]`, "2"),
		chromedp.Click(`form[aria-label="Create a topic"] button`)))
	waitJS(t, ctx, "the new topic in the list", `!!document.querySelector('a[href="/console/topics/orders"]')`)
	api(200, "GET", "/v1/topics/orders", nil)
	waitJS(t, ctx, "labelled controls", `[...document.querySelectorAll("input,select,textarea")].every(e => e.labels && e.labels.length > 0)`)

	// Send a JSON message from the topic page, browse, open it: body, properties, trace.
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(`a[href="/console/topics/orders"]`)))
	waitJS(t, ctx, "the topic page", `!!document.querySelector('form[aria-label="Send a message"]')`)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(`form[aria-label="Send a message"] textarea`, `{"order":42,"item":"tea"}`),
		chromedp.SendKeys(`form[aria-label="Send a message"] input[name=tag]`, "created"),
		chromedp.SendKeys(`form[aria-label="Send a message"] input[name=keys]`, "order-42"),
		chromedp.Click(`form[aria-label="Send a message"] button`)))
	waitJS(t, ctx, "the send result", textOf("#status")+`.startsWith("sent ")`)
	api(200, "POST", "/v1/topics/orders/messages", map[string]any{"messages": []map[string]any{{"body": []byte("plain text"), "properties": map[string]string{"region": "eu"}}}})
	// Traces are written about once a second: browse and open the message until the trace
	// shows it stored.
	deadline := time.Now().Add(20 * time.Second)
	for {
		click(t, ctx, `form[aria-label="Browse by time"] button`)
		waitJS(t, ctx, "two browsed messages", `document.querySelectorAll("#results tbody tr").length === 2`)
		// The detail of an earlier try must not pass for this one's.
		_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(document.querySelector("#detail").replaceChildren(), true)`))
		require.NoError(t, err)
		click(t, ctx, `#results tbody tr:last-child button`)
		waitJS(t, ctx, "the message detail", `!!document.querySelector("#body") && !!document.querySelector("#trace")`)
		trace, err := chromedp.Run(ctx, chromedp.Evaluate[string](textOf("#trace")))
		require.NoError(t, err)
		if strings.Contains(trace, "STORED") || time.Now().After(deadline) {
			require.Contains(t, trace, "PRODUCED")
			require.Contains(t, trace, "STORED")
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	waitJS(t, ctx, "the JSON body", textOf("#body")+`.includes('"item": "tea"')`)
	click(t, ctx, `button[data-mode=hex]`)
	waitJS(t, ctx, "the hex body", textOf("#body")+`.startsWith("7b 22")`)
	click(t, ctx, `button[data-mode=json]`)
	screenshot(t, ctx, "console-message")

	// A group: its lag falls as it consumes, on the chart and in the numbers.
	api(201, "POST", "/v1/groups", map[string]any{"name": "billing"})
	api(201, "PUT", "/v1/groups/billing/subscriptions/orders", map[string]any{"filter": "*"})
	var msgs []map[string]any
	for i := range 40 {
		msgs = append(msgs, map[string]any{"body": []byte(fmt.Sprintf("order %d", i))})
	}
	api(200, "POST", "/v1/topics/orders/messages", map[string]any{"messages": msgs})
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/console/groups/billing")))
	waitJS(t, ctx, "the lag of 40", textOf("#lag-total")+` === "40"`)
	time.Sleep(2500 * time.Millisecond) // a second sample for the chart
	for i := 0; i < 4; i++ {
		a := api(200, "POST", "/v1/groups/billing/topics/orders/receive", map[string]any{"maxMessages": 10, "waitSeconds": 1})
		var r struct {
			Messages []struct{ ReceiptHandle string }
		}
		require.NoError(t, jsonUnmarshal(a.body, &r))
		var handles []string
		for _, m := range r.Messages {
			handles = append(handles, m.ReceiptHandle)
		}
		if len(handles) > 0 {
			api(200, "POST", "/v1/groups/billing/topics/orders/ack", map[string]any{"receiptHandles": handles})
		}
		time.Sleep(2100 * time.Millisecond)
	}
	receiveAllWithKey(t, base, "billing", "orders")
	waitJS(t, ctx, "the lag down to 0", textOf("#lag-total")+` === "0"`)
	// The consumer that took them is listed, with all 40 acked.
	waitJS(t, ctx, "the HTTP consumer", `[...document.querySelectorAll("#clients tbody tr")].some(r => r.cells[1].textContent === "HTTP" && r.cells[7].textContent === "40")`)
	time.Sleep(2100 * time.Millisecond)
	screenshot(t, ctx, "console-group-lag")
	// The node kept the last hour: a page opened now draws it at once, from 40 down to 0.
	var hist struct {
		Points []struct{ Topics []struct{ Ready int } }
	}
	require.NoError(t, jsonUnmarshal(api(200, "GET", "/v1/groups/billing/lag/history", nil).body, &hist))
	var readies []int
	for _, p := range hist.Points {
		r := 0
		for _, tp := range p.Topics {
			r += tp.Ready
		}
		readies = append(readies, r)
	}
	require.Contains(t, readies, 40, "the history holds the backlog")
	require.Equal(t, 0, readies[len(readies)-1], "and its end")
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/console/groups/billing")))
	waitJS(t, ctx, "the chart drawn from the node's history", `Number(document.querySelector("#lag-chart").dataset.points) >= 10`)
	screenshot(t, ctx, "console-group-lag-history")

	// A second group: set one queue's offset, then copy billing's offsets, and watch the lag
	// table follow each change.
	api(201, "POST", "/v1/groups", map[string]any{"name": "replay"})
	api(201, "PUT", "/v1/groups/replay/subscriptions/orders", map[string]any{"filter": "*"})
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/console/groups/replay")))
	waitJS(t, ctx, "the lag table of replay", `document.querySelectorAll("#lag tbody tr").length === 2`)
	waitJS(t, ctx, "labelled controls", `[...document.querySelectorAll("input,select,textarea")].every(e => e.labels && e.labels.length > 0)`)
	queue0 := `[...document.querySelectorAll("#lag tbody tr")].find(r => r.cells[1].textContent === "0")`
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(`form[aria-label="Set a queue's offset"] input[name=queue]`, "0"),
		chromedp.SetValue(`form[aria-label="Set a queue's offset"] input[name=offset]`, "0"),
		chromedp.Click(`form[aria-label="Set a queue's offset"] button`)))
	waitJS(t, ctx, "queue 0 back at offset 0", `(r => r && r.cells[3].textContent === "0" && Number(r.cells[2].textContent) > 0 && r.cells[5].textContent === r.cells[2].textContent)(`+queue0+`)`)
	waitJS(t, ctx, "a lag above 0", `Number(`+textOf("#lag-total")+`) > 0`)
	screenshot(t, ctx, "console-set-offset")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(`form[aria-label="Copy offsets from a group"] select`, "billing"),
		chromedp.Click(`form[aria-label="Copy offsets from a group"] button`)))
	waitJS(t, ctx, "the copy result", textOf("#status")+`.startsWith("copied the offsets of billing")`)
	waitJS(t, ctx, "billing's offsets in the table", `[...document.querySelectorAll("#lag tbody tr")].every(r => r.cells[3].textContent === r.cells[2].textContent && r.cells[5].textContent === "0")`)
	waitJS(t, ctx, "the lag back to 0", textOf("#lag-total")+` === "0"`)
	screenshot(t, ctx, "console-copy-offsets")

	// The retry policy changes from the settings form and is shown at once.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(`form[aria-label="Change settings"] input[name=backoff]`, "5, 15,45"),
		chromedp.Click(`form[aria-label="Change settings"] button`)))
	waitJS(t, ctx, "the new retry backoff", textOf("#settings")+`.includes("5, 15, 45 s")`)
	var grp struct {
		RetryPolicy struct{ BackoffSeconds []int }
	}
	require.NoError(t, jsonUnmarshal(api(200, "GET", "/v1/groups/replay", nil).body, &grp))
	require.Equal(t, []int{5, 15, 45}, grp.RetryPolicy.BackoffSeconds)
	// So does the delivery order.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(`form[aria-label="Change settings"] select[name=order]`, "ORDERLY"),
		chromedp.Click(`form[aria-label="Change settings"] button`)))
	waitJS(t, ctx, "the new delivery order", textOf("#settings")+`.includes("ORDERLY")`)
	var ordered struct{ DeliveryOrder string }
	require.NoError(t, jsonUnmarshal(api(200, "GET", "/v1/groups/replay", nil).body, &ordered))
	require.Equal(t, "ORDERLY", ordered.DeliveryOrder)
	// A bad backoff is refused in the error area and changes nothing.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(`form[aria-label="Change settings"] input[name=backoff]`, "5, soon"),
		chromedp.Click(`form[aria-label="Change settings"] button`)))
	waitJS(t, ctx, "the backoff error", `document.querySelector("#status").className === "error" && `+textOf("#status")+`.includes("Retry backoff")`)
	waitJS(t, ctx, "the backoff unchanged", textOf("#settings")+`.includes("5, 15, 45 s")`)
	screenshot(t, ctx, "console-retry-policy")

	// Resend a message billing has acked: billing's next receive over the API gets it again.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/console/topics/orders")))
	click(t, ctx, `form[aria-label="Browse by time"] button`)
	waitJS(t, ctx, "browsed messages", `document.querySelectorAll("#results tbody tr").length > 0`)
	click(t, ctx, `#results tbody tr:first-child button`)
	waitJS(t, ctx, "the resend form", `!!document.querySelector('form[aria-label="Resend to group"] option[value=billing]')`)
	waitJS(t, ctx, "labelled controls", `[...document.querySelectorAll("input,select,textarea")].every(e => e.labels && e.labels.length > 0)`)
	msgID, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#detail h2").textContent.replace("Message ", "")`))
	require.NoError(t, err)
	require.NotEmpty(t, msgID)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(`form[aria-label="Resend to group"] select`, "billing"),
		chromedp.Click(`form[aria-label="Resend to group"] button`)))
	waitJS(t, ctx, "the resend result", textOf("#status")+`.startsWith("resent `+msgID+` to billing")`)
	// Resending it again while it waits for billing is refused, in the page's error area.
	click(t, ctx, `form[aria-label="Resend to group"] button`)
	waitJS(t, ctx, "the resend conflict", `document.querySelector("#status").className === "error" && `+textOf("#status")+`.startsWith("CONFLICT")`)
	screenshot(t, ctx, "console-resend")
	a := api(200, "POST", "/v1/groups/billing/topics/orders/receive", map[string]any{"maxMessages": 32, "waitSeconds": 5})
	var got struct {
		Messages []struct {
			MessageID     string `json:"messageId"`
			ReceiptHandle string
		}
	}
	require.NoError(t, jsonUnmarshal(a.body, &got))
	require.Len(t, got.Messages, 1, "%s", a.body)
	require.Equal(t, msgID, got.Messages[0].MessageID)
	api(200, "POST", "/v1/groups/billing/topics/orders/ack", map[string]any{"receiptHandles": []string{got.Messages[0].ReceiptHandle}})

	// Dead letters: redrive them from the group page and watch the progress.
	api(201, "POST", "/v1/groups", map[string]any{"name": "audit", "maxDeliveryAttempts": 1, "retryPolicy": map[string]any{"backoffSeconds": []int{0}}})
	api(201, "PUT", "/v1/groups/audit/subscriptions/orders", map[string]any{"filter": "*"})
	api(200, "POST", "/v1/groups/audit/skip-backlog", map[string]any{})
	makeDeadLettersWithKey(t, base, "audit", "orders", 4)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/console/groups/audit")))
	waitJS(t, ctx, "4 dead letters", textOf("#dlq-size")+` === "4"`)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(`form[aria-label="Redrive dead letters"] input[name=rate]`, "1"),
		chromedp.Click(`form[aria-label="Redrive dead letters"] button`)))
	waitJS(t, ctx, "a running redrive", textOf("#redrive-text")+`.startsWith("RUNNING") && document.querySelector("#redrive progress").value > 0`)
	screenshot(t, ctx, "console-redrive-running")
	waitJS(t, ctx, "the redrive done", textOf("#redrive-text")+` === "SUCCEEDED: 4 moved of 4"`)
	waitJS(t, ctx, "an empty dead-letter topic", textOf("#dlq-size")+` === "0"`)
	screenshot(t, ctx, "console-redrive-done")

	// Signing out forgets the key: the console asks for one again.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/console/login")))
	waitJS(t, ctx, "the sign-in page", `!!document.querySelector("#key")`)
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(`button.secondary`), chromedp.Navigate(base+"/console/")))
	waitJS(t, ctx, "the sign-in page again", `location.pathname === "/console/login"`)
}

// TestConsoleOff checks --console=false: no console, / is not found.
func TestConsoleOff(t *testing.T) {
	t.Parallel()
	cfg := folderConfig(t)
	cfg.NoConsole = true
	n, _ := startNode(t, cfg)
	require.Equal(t, 404, call(t, "GET", "http://"+n.Addr()+"/console/", "", nil).status)
	require.Equal(t, 404, call(t, "GET", "http://"+n.Addr()+"/", "", nil).status)
	cfg2 := folderConfig(t)
	n2, _ := startNode(t, cfg2)
	a := call(t, "GET", "http://"+n2.Addr()+"/console/", "", nil)
	require.Equal(t, 200, a.status)
	require.Contains(t, a.header.Get("Content-Security-Policy"), "default-src 'none'")
	require.Contains(t, string(a.body), "/console/assets/console.js")
}

func receiveAllWithKey(t *testing.T, base, group, topic string) {
	t.Helper()
	for i := 0; i < 20; i++ {
		a := call(t, "POST", base+"/v1/groups/"+group+"/topics/"+topic+"/receive", bootstrapKey, map[string]any{"maxMessages": 32, "waitSeconds": 0})
		var r struct {
			Messages []struct{ ReceiptHandle string }
		}
		require.NoError(t, jsonUnmarshal(a.body, &r))
		if len(r.Messages) == 0 {
			return
		}
		var handles []string
		for _, m := range r.Messages {
			handles = append(handles, m.ReceiptHandle)
		}
		call(t, "POST", base+"/v1/groups/"+group+"/topics/"+topic+"/ack", bootstrapKey, map[string]any{"receiptHandles": handles})
	}
}

// makeDeadLettersWithKey sends n messages that group nacks past its one attempt.
func makeDeadLettersWithKey(t *testing.T, base, group, topic string, n int) {
	t.Helper()
	var msgs []map[string]any
	for i := range n {
		msgs = append(msgs, map[string]any{"body": []byte(fmt.Sprintf("doomed %d", i))})
	}
	require.Equal(t, 200, call(t, "POST", base+"/v1/topics/"+topic+"/messages", bootstrapKey, map[string]any{"messages": msgs}).status)
	var handles []string
	deadline := time.Now().Add(20 * time.Second)
	for len(handles) < n && time.Now().Before(deadline) {
		a := call(t, "POST", base+"/v1/groups/"+group+"/topics/"+topic+"/receive", bootstrapKey, map[string]any{"maxMessages": 32, "waitSeconds": 1})
		var r struct {
			Messages []struct{ ReceiptHandle string }
		}
		require.NoError(t, jsonUnmarshal(a.body, &r))
		for _, m := range r.Messages {
			handles = append(handles, m.ReceiptHandle)
		}
	}
	require.Len(t, handles, n)
	require.Equal(t, 200, call(t, "POST", base+"/v1/groups/"+group+"/topics/"+topic+"/nack", bootstrapKey, map[string]any{"receiptHandles": handles}).status)
	for time.Now().Before(deadline) {
		call(t, "POST", base+"/v1/groups/"+group+"/topics/"+topic+"/receive", bootstrapKey, map[string]any{"maxMessages": 32, "waitSeconds": 0})
		a := call(t, "GET", base+"/v1/topics/%25DLQ%25"+group+"/queues", bootstrapKey, nil)
		if a.status == 200 && strings.Contains(string(a.body), fmt.Sprintf(`"maxOffset":%d`, n)) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%d dead letters did not arrive", n)
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

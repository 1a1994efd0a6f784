package services

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/floemq/floe/auth"
)

const keysUsage = `Usage:
  floe keys create --name NAME [--namespace NS] --perm ACTION:RESOURCE [--perm ...]
                                                                     prints the new key (its secret once)
  floe keys list                                                     keys, without secrets
  floe keys revoke ID
  floe keys rotate ID                                                prints the new secret; the old one stops
Common flags: --url (FLOE_URL) --key (FLOE_KEY, an admin key on key:*, such as the bootstrap key).
A permission is ACTION:RESOURCE, e.g. produce:topic:orders, consume:group:billing, admin:topic:*,
metrics:* (reading /metrics with --metrics-require-auth; default namespace only).
A key of namespace NS names the topics and groups of NS only (the permissions use those names).
`

// permFlags collects repeated --perm values.
type permFlags []auth.Permission

func (p *permFlags) String() string { return fmt.Sprint([]auth.Permission(*p)) }

func (p *permFlags) Set(v string) error {
	action, resource, ok := strings.Cut(v, ":")
	if !ok {
		return fmt.Errorf("permission %q: want ACTION:RESOURCE, e.g. produce:topic:orders", v)
	}
	perm := auth.Permission{Action: action, Resource: resource}
	if err := perm.Validate(); err != nil {
		return err
	}
	*p = append(*p, perm)
	return nil
}

// runKeys manages API keys through a node's /v1/keys routes.
func runKeys(args []string, stdout, stderr io.Writer) error {
	if len(args) < 1 {
		fmt.Fprint(stderr, keysUsage)
		return errors.New("floe keys: want create, list, revoke or rotate")
	}
	sub := args[0]
	switch sub {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, keysUsage)
		return flag.ErrHelp
	case "create", "list", "revoke", "rotate":
	default:
		fmt.Fprint(stderr, keysUsage)
		return fmt.Errorf("floe keys: unknown command %q (want create, list, revoke or rotate)", sub)
	}
	fs := flag.NewFlagSet("floe keys "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, keysUsage); fs.PrintDefaults() }
	base := fs.String("url", "http://127.0.0.1:8080", "URL of a floe node")
	key := fs.String("key", "", "API key with admin on key:* (the bootstrap key works)")
	timeout := fs.Duration("timeout", 10*time.Second, "request timeout")
	var name, ns string
	var perms permFlags
	if sub == "create" {
		fs.StringVar(&name, "name", "", "name of the key, such as billing-app")
		fs.StringVar(&ns, "namespace", "", "the tenant the key belongs to (default: the caller's own namespace)")
		fs.Var(&perms, "perm", "ACTION:RESOURCE, repeated")
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	call := func(method, path string, in, out any) error {
		return keysCall(ctx, strings.TrimRight(*base, "/"), *key, method, path, in, out)
	}
	id := func() (string, error) {
		if fs.NArg() != 1 {
			return "", fmt.Errorf("floe keys %s: want one key id", sub)
		}
		return url.PathEscape(fs.Arg(0)), nil
	}
	switch sub {
	case "create":
		if name == "" || len(perms) == 0 {
			return errors.New("floe keys create: want --name and at least one --perm")
		}
		var out auth.KeyView
		if err := call(http.MethodPost, "/v1/keys", auth.CreateKeyRequest{Name: name, Namespace: ns, Permissions: perms}, &out); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "key %s created; its secret is shown this once:\n", out.ID)
		return printJSON(stdout, out)
	case "list":
		var out auth.KeyList
		if err := call(http.MethodGet, "/v1/keys", nil, &out); err != nil {
			return err
		}
		return printJSON(stdout, out)
	case "revoke":
		k, err := id()
		if err != nil {
			return err
		}
		if err := call(http.MethodDelete, "/v1/keys/"+k, nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "key %s revoked\n", fs.Arg(0))
		return nil
	case "rotate":
		k, err := id()
		if err != nil {
			return err
		}
		var out auth.KeyView
		if err := call(http.MethodPost, "/v1/keys/"+k+"/rotate", nil, &out); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "key %s rotated; the new secret is shown this once:\n", out.ID)
		return printJSON(stdout, out)
	}
	return fmt.Errorf("floe keys: unknown command %q", sub)
}

func keysCall(ctx context.Context, base, key, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(b)))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: decoding the answer: %w", method, path, err)
	}
	return nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

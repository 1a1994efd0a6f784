package services

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/floemq/floe/client"
)

// runClients lists the consumers of a group, or with --producers the producers of a
// topic, that some node saw in the last minute.
func runClients(args []string, stdout, stderr io.Writer) error {
	c := newCLI("floe clients", stdout, stderr)
	var producers bool
	c.fs.BoolVar(&producers, "producers", false, "the argument is a topic: list its RocketMQ producers")
	pos, err := c.parse(args)
	if err != nil {
		return err
	}
	what := "a group name"
	if producers {
		what = "a topic name"
	}
	if err := wantArgs(pos, 1, what); err != nil {
		return err
	}
	ctx, cancel := c.ctx()
	defer cancel()
	var cs []client.ConnectedClient
	if producers {
		cs, err = c.client().TopicProducers(ctx, pos[0])
	} else {
		cs, err = c.client().GroupClients(ctx, pos[0])
	}
	if err != nil {
		return err
	}
	if cs == nil {
		cs = []client.ConnectedClient{}
	}
	now := time.Now()
	return c.print(cs, func(w *tabwriter.Writer) {
		if producers {
			fmt.Fprintln(w, "CLIENT ID\tPROTOCOL\tADDRESS\tSDK\tLAST SEEN\tSENT")
		} else {
			fmt.Fprintln(w, "CLIENT ID\tPROTOCOL\tADDRESS\tSDK\tLAST SEEN\tSUBSCRIPTIONS\tDELIVERED\tACKED\tNACKED\tIN FLIGHT")
		}
		for _, cl := range cs {
			sdk := strings.TrimSpace(cl.Language + " " + cl.Version)
			if sdk == "" {
				sdk = cl.UserAgent
			}
			seen := fmt.Sprintf("%.0fs ago", now.Sub(cl.LastSeen).Seconds())
			if producers {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\n", cl.ClientID, cl.Protocol, cl.Address, cmpOr(sdk, "-"), seen, cl.Sent)
				continue
			}
			var subs []string
			for _, s := range cl.Subscriptions {
				subs = append(subs, s.Topic+"("+cmpOr(s.Filter, "*")+")")
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\n", cl.ClientID, cl.Protocol, cl.Address, cmpOr(sdk, "-"), seen,
				cmpOr(strings.Join(subs, " "), "-"), cl.Delivered, cl.Acked, cl.Nacked, cl.InFlight)
		}
	})
}

package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/urfave/cli/v2"

	"github.com/okxtape/okxtape/ingest"
	"github.com/okxtape/okxtape/ingest/decode"
	"github.com/okxtape/okxtape/internal/cliutil"
	"github.com/okxtape/okxtape/schema"
	registry "github.com/okxtape/okxtape/schema/channels"
)

// target is what a run records: the validated channels, the instruments (listed by REST with
// --all-instruments), the subscriptions they make, the URLs and the credentials.
type target struct {
	channels, insts []string
	subs            []decode.Arg
	wsURL, restURL  string
	creds           cliutil.Credentials
	listings        *listings // --all-instruments: follows the instruments channel (listings.go)
}

// resolveTarget reads and checks the flags that say what to record. Usage errors exit 2; an instrument
// list that cannot be fetched exits 1.
func resolveTarget(ctx context.Context, c *cli.Context, log *slog.Logger) (target, error) {
	var tg target
	var err error
	tg.creds, err = cliutil.LoadCredentials(c.String("credentials-file"))
	if err != nil {
		return tg, cli.Exit("record: "+err.Error(), 2)
	}
	tg.channels = cliutil.SplitList(c.StringSlice("channels"))
	tg.insts = cliutil.SplitList(c.StringSlice("inst"))
	if len(tg.channels) == 0 {
		return tg, cli.Exit("record: --channels is empty", 2)
	}
	if err := registry.Validate(tg.channels); err != nil {
		return tg, cli.Exit("record: --channels: "+err.Error(), 2)
	}
	all := c.Bool("all-instruments")
	if err := registry.ValidateInstType(withListings(tg.channels, all), c.String("inst-type")); err != nil {
		return tg, cli.Exit("record: "+err.Error(), 2)
	}
	tg.wsURL, tg.restURL = c.String("ws-url"), c.String("rest-url")
	if c.Bool("demo") && tg.wsURL == "wss://ws.okx.com:8443" {
		tg.wsURL = "wss://wspap.okx.com:8443"
	}
	if all {
		list, err := ingest.FetchInstruments(ctx, tg.restURL, c.String("inst-type"), c.Bool("demo"))
		if err != nil {
			return tg, cli.Exit(fmt.Sprintf("record: listing instruments: %v", err), 1)
		}
		tg.insts = tg.insts[:0]
		for _, in := range list {
			if in.State == "" || in.State == "live" {
				tg.insts = append(tg.insts, in.InstID)
			}
		}
		log.Info("subscribing all instruments", "inst_type", c.String("inst-type"), "count", len(tg.insts))
	}
	var needLogin bool
	tg.subs, needLogin = subscriptions(tg.channels, tg.insts, c.String("inst-type"))
	if all {
		tg.subs, tg.listings = followListings(tg.channels, tg.insts, tg.subs, c.String("inst-type"), log)
	}
	if needLogin && tg.creds.Empty() {
		return tg, cli.Exit("record: private channels need OKX_API_KEY, OKX_API_SECRET and OKX_API_PASSPHRASE (environment or --credentials-file)", 2)
	}
	return tg, nil
}

// subscriptions returns the args for channels (validated) by their registry selector: one per instrument id,
// per instrument family (--inst read as families), or one in all with instType or nothing. needLogin is set
// when a private channel is among them (public channels that need login use credentials only when given).
func subscriptions(channels, insts []string, instType string) (subs []decode.Arg, needLogin bool) {
	for _, ch := range channels {
		e := registry.Lookup(ch)
		if e == nil {
			continue
		}
		needLogin = needLogin || e.Endpoint == schema.EndpointPrivate
		switch e.Selector {
		case registry.ByInstID:
			for _, in := range insts {
				subs = append(subs, decode.Arg{Channel: ch, InstID: in})
			}
		case registry.ByInstFamily:
			for _, in := range insts {
				subs = append(subs, decode.Arg{Channel: ch, InstType: instType, InstFamily: in})
			}
		case registry.ByInstType:
			subs = append(subs, decode.Arg{Channel: ch, InstType: instType})
		default: // ByCcy (all currencies), ByNone
			subs = append(subs, decode.Arg{Channel: ch})
		}
	}
	return subs, needLogin
}

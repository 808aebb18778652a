package sim

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/okxtape/okxtape/internal/testenv"
)

func TestLoginSignVector(t *testing.T) {
	for ts, want := range map[string]string{
		"1538054050": "+LdIr8lkkvhr5hoA3g9TMC0+uQJ849ftAcocA/ouu4M=",
		"1704876947": "5/36BgGV6m/6pmdc20zdqk0mzF5ZalmzzPD2fo3wavU=",
	} {
		if got := loginSign("22582BD0CFF14C41EDBF1AB98506286D", ts); got != want {
			t.Errorf("sign(%s) = %s, want %s", ts, got, want)
		}
	}
}

func loginReq(key, pass, ts, sign string) string {
	b, _ := json.Marshal(map[string]any{"id": "L1", "op": "login", "args": []map[string]string{{"apiKey": key,
		"passphrase": pass, "timestamp": ts, "sign": sign}}})
	return string(b)
}

func TestLogin(t *testing.T) {
	const key, secret, pass = "key-1", "secret-1", "pass-1"
	now := strconv.FormatInt(time.Now().Unix(), 10)
	old := strconv.FormatInt(time.Now().Add(-time.Minute).Unix(), 10)
	tests := []struct {
		name, req, code string
	}{
		{"ok", loginReq(key, pass, now, loginSign(secret, now)), "0"},
		{"bad timestamp", loginReq(key, pass, "yesterday", loginSign(secret, "yesterday")), "60004"},
		{"unknown apiKey", loginReq("other", pass, now, loginSign(secret, now)), "60005"},
		{"expired", loginReq(key, pass, old, loginSign(secret, old)), "60006"},
		{"bad sign", loginReq(key, pass, now, loginSign("wrong", now)), "60007"},
		{"wrong passphrase", loginReq(key, "nope", now, loginSign(secret, now)), "60024"},
		{"empty sign", loginReq(key, pass, now, ""), "60027"},
	}
	s, addr := startSim(t, Config{APIKey: key, APISecret: secret, Passphrase: pass})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, addr, "private")
			c.send(tc.req)
			m := c.next(time.Second, func(m msg) bool { return m.Event == "login" || m.Event == "error" })
			if m.Code != tc.code || m.ID != "L1" || !isHex8(m.ConnID) {
				t.Fatalf("got %s, want code %s", m.raw, tc.code)
			}
			if tc.code == "0" {
				want := `{"id":"L1","event":"login","code":"0","msg":"","connId":"` + m.ConnID + `"}`
				if string(m.raw) != want {
					t.Fatalf("got %s\nwant %s", m.raw, want)
				}
				c.send(tc.req)
				if e := c.next(time.Second, isEvent("error")); e.Code != "60031" {
					t.Fatalf("repeated login: %s", e.raw)
				}
			}
		})
	}
	st := s.Stats()
	if st.Logins["ok"] != 1 || st.Logins["60007"] != 1 || st.Logins["60031"] != 1 {
		t.Fatalf("login stats %v", st.Logins)
	}
}

func TestPrivateChannels(t *testing.T) {
	_, addr := startSim(t, Config{Rate: 100, APIKey: "k", APISecret: "s", Passphrase: "p"})
	c := dial(t, addr, "private")
	c.send(string(LoginArgs("k", "s", "p", time.Now())))
	c.next(time.Second, isEvent("login"))
	c.send(`{"op":"subscribe","args":[{"channel":"orders","instType":"ANY"},{"channel":"fills"},{"channel":"account"},{"channel":"positions","instType":"SWAP"},{"channel":"balance_and_position"}]}`)
	type ord struct {
		OrdID, State, AccFillSz, Sz, FillSz, TradeID, InstID string
	}
	states := map[string][]string{}
	ordKeys := map[string]any{}
	var sawAccountSnap, sawPosSnap, sawPosUpdate, sawFill, sawBalPos bool
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) && !(sawAccountSnap && sawPosSnap && sawPosUpdate && sawFill && sawBalPos && len(states) >= 3) {
		b := c.read(time.Second)
		var m struct {
			Event     string            `json:"event"`
			Arg       map[string]string `json:"arg"`
			EventType string            `json:"eventType"`
			CurPage   *int              `json:"curPage"`
			LastPage  *bool             `json:"lastPage"`
			Data      []json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if m.Event != "" {
			continue
		}
		if m.Arg["uid"] == "" {
			t.Fatalf("private push without uid: %s", b)
		}
		switch m.Arg["channel"] {
		case "orders":
			var o ord
			if len(m.Data) != 1 || json.Unmarshal(m.Data[0], &o) != nil {
				t.Fatalf("orders push: %s", b)
			}
			states[o.OrdID] = append(states[o.OrdID], o.State)
			if len(ordKeys) == 0 {
				_ = json.Unmarshal(m.Data[0], &ordKeys)
			}
		case "fills":
			sawFill = true
		case "account":
			var d struct {
				TotalEq string           `json:"totalEq"`
				Details []map[string]any `json:"details"`
			}
			if len(m.Data) != 1 || json.Unmarshal(m.Data[0], &d) != nil || d.TotalEq == "" || len(d.Details) != 3 {
				t.Fatalf("account push: %s", b)
			}
			if m.CurPage == nil || m.LastPage == nil || (m.EventType != "snapshot" && m.EventType != "event_update") {
				t.Fatalf("account push: %s", b)
			}
			sawAccountSnap = sawAccountSnap || m.EventType == "snapshot"
		case "positions":
			if m.CurPage == nil || *m.CurPage != 1 || m.LastPage == nil || !*m.LastPage {
				t.Fatalf("positions push: %s", b)
			}
			sawPosSnap = sawPosSnap || m.EventType == "snapshot"
			sawPosUpdate = sawPosUpdate || (m.EventType == "event_update" && len(m.Data) == 1)
		case "balance_and_position":
			sawBalPos = true
		}
	}
	if !(sawAccountSnap && sawPosSnap && sawPosUpdate && sawFill && sawBalPos) {
		t.Fatalf("missing pushes: account %v positions %v/%v fills %v balpos %v", sawAccountSnap, sawPosSnap, sawPosUpdate, sawFill, sawBalPos)
	}
	fixture := readFixtureData(t, "ws_orders.json")
	for k := range fixture {
		if _, ok := ordKeys[k]; !ok {
			t.Errorf("orders push lacks field %q of the real push", k)
		}
	}
	complete := 0
	for id, st := range states {
		if len(st) == 3 {
			if st[0] != "live" || st[1] != "partially_filled" && st[1] != "filled" || st[2] != "filled" && st[1] != "filled" {
				t.Fatalf("order %s lifecycle %v", id, st)
			}
			complete++
		}
	}
	if complete == 0 {
		t.Fatalf("no complete order lifecycle: %v", states)
	}
}

// readFixtureData returns data[0] of a shared OKX fixture push.
func readFixtureData(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "shared", "fixtures", "okx", name))
	if err != nil {
		testenv.Fixtures.Missing(t, err)
	}
	var p struct{ Data []map[string]any }
	if err := json.Unmarshal(b, &p); err != nil || len(p.Data) == 0 {
		t.Fatalf("fixture %s: %v", name, err)
	}
	return p.Data[0]
}

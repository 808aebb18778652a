// okx-api's WebsocketClient against replay serve: subscribe tickers, then books after TICKERS tickers (a late
// subscription), and keep the book through UPDATES updates the way an okx-api user does: a snapshot
// (prevSeqId -1) replaces it, each update must chain (prevSeqId == previous seqId). Usage:
//   node okxapi_check.mjs ws://127.0.0.1:PORT INST-ID TICKERS UPDATES
// Prints one JSON line; exits 1 on a broken chain, an error event, or when it hangs for 20 s.
import { WebsocketClient } from 'okx-api';

const [url, instId, nTickers, nUpdates] = process.argv.slice(2);
setTimeout(() => { console.error('timeout: okx-api got no book'); process.exit(1); }, 20000).unref();
const fail = (msg) => { console.error(msg); process.exit(1); };

const silent = { trace: () => {}, info: () => {}, error: (...a) => console.error(...a) };
const ws = new WebsocketClient({ wsUrl: url + '/ws/v5/public' }, silent);
let tickers = 0, updates = 0, snapshots = 0, seq, tickerTs = 0, bookTs = 0;
const bids = new Map(), asks = new Map();
const apply = (side, levels) => {
  for (const [px, sz] of levels) { if (Number(sz) === 0) side.delete(px); else side.set(px, sz); }
};
ws.on('exception', (e) => fail('exception: ' + JSON.stringify(e)));
ws.on('update', (msg) => {
  const ch = msg.arg && msg.arg.channel;
  if (ch === 'tickers') {
    tickerTs = Number(msg.data[0].ts);
    if (++tickers === Number(nTickers)) ws.subscribe({ channel: 'books', instId });
    return;
  }
  if (ch !== 'books') return;
  const d = msg.data[0];
  if (msg.action === 'snapshot') {
    if (d.prevSeqId !== -1) fail('snapshot prevSeqId ' + d.prevSeqId);
    bids.clear(); asks.clear(); snapshots++;
  } else if (seq === undefined || d.prevSeqId !== seq) {
    fail(`update prevSeqId ${d.prevSeqId} after seqId ${seq}`);
  } else {
    updates++;
  }
  seq = d.seqId; bookTs = Number(d.ts);
  apply(bids, d.bids); apply(asks, d.asks);
  if (updates === Number(nUpdates)) {
    const best = (m, f) => [...m.keys()].map(Number).reduce((a, b) => f(a, b));
    console.log(JSON.stringify({ tickerTs, bookTs, snapshots, updates, bids: bids.size, asks: asks.size,
      bestBid: best(bids, Math.max), bestAsk: best(asks, Math.min) }));
    process.exit(0);
  }
});
ws.subscribe({ channel: 'tickers', instId });

// ccxt's usual order against replay serve: watchTicker, then watchOrderBook a few seconds later, then keep
// the book through updates (ccxt rejects a broken seqId chain with InvalidNonce). Usage:
//   node ccxt_check.mjs ws://127.0.0.1:PORT INST-ID TICKERS UPDATES
// Prints one JSON line with what it saw; exits 1 on any error or when it hangs for 20 s.
import ccxt from 'ccxt';

const [url, instId, nTickers, nUpdates] = process.argv.slice(2);
setTimeout(() => { console.error('timeout: ccxt hung'); process.exit(1); }, 20000).unref();

const ex = new ccxt.pro.okx({ enableRateLimit: false });
ex.urls.api.ws = url + '/ws/v5';
const [base, quote] = instId.split('-');
ex.fetchMarkets = async () => [ex.parseMarket({
  instType: 'SPOT', instId, baseCcy: base, quoteCcy: quote, settleCcy: '', ctVal: '', ctMult: '', ctValCcy: '',
  listTime: '1600000000000', expTime: '', lever: '10', tickSz: '0.1', lotSz: '0.00000001', minSz: '0.00001',
  state: 'live', uly: '', instFamily: '', category: '1', alias: '', optType: '', stk: '',
})];
ex.fetchCurrencies = async () => ({});

try {
  await ex.loadHttpProxyAgent(); // ccxt needs an http agent for ws:// (non-TLS) URLs
  await ex.loadMarkets();
  const symbol = base + '/' + quote;
  let ticker;
  for (let i = 0; i < Number(nTickers); i++) ticker = await ex.watchTicker(symbol);
  let ob = await ex.watchOrderBook(symbol);
  const firstNonce = ob.nonce;
  for (let i = 0; i < Number(nUpdates); i++) ob = await ex.watchOrderBook(symbol);
  console.log(JSON.stringify({ tickerTs: ticker.timestamp, bookTs: ob.timestamp, firstNonce, nonce: ob.nonce,
    bids: ob.bids.length, asks: ob.asks.length, bestBid: ob.bids[0][0], bestAsk: ob.asks[0][0] }));
  await ex.close();
  process.exit(0);
} catch (e) {
  console.error(String(e && e.stack || e));
  process.exit(1);
}

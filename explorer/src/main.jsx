// The explorer's entry: the navigation, the search box and the hash router over the pages.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import './style.css';
import { Home } from './pages/home.jsx';
import { Block } from './pages/block.jsx';
import { Tx } from './pages/tx.jsx';
import { Address } from './pages/address.jsx';
import { Candidate, Governance, Validators } from './pages/staking.jsx';
import { Supply } from './pages/supply.jsx';
import { Instance, Middleware } from './pages/middleware.jsx';
import { call } from './rpc.js';

/** Where a search for ``text`` leads: a block number, a block or transaction hash, or an address. */
async function searchTarget(text) {
  const query = text.trim().toLowerCase();
  if (/^\d+$/.test(query)) return `#/block/${query}`;
  if (/^0x[0-9a-f]{40}$/.test(query)) return `#/address/${query}`;
  if (/^0x[0-9a-f]{64}$/.test(query)) {
    if (await call('eth_getTransactionByHash', query)) return `#/tx/${query}`;
    if (await call('eth_getBlockByHash', query, false)) return `#/block/${query}`;
    throw new Error(`no transaction or block has hash ${query}`);
  }
  throw new Error('search by block number, block or transaction hash (0x + 64 hex digits) or address (0x + 40 hex digits)');
}

function Search() {
  const [error, setError] = useState(null);
  const submit = (event) => {
    event.preventDefault();
    setError(null);
    searchTarget(new FormData(event.currentTarget).get('q')).then((target) => {
      location.hash = target;
    }, setError);
  };
  return (
    <form class="search" onSubmit={submit}>
      <input name="q" data-testid="search" placeholder="Block number or hash, transaction hash, address" />
      <button type="submit">Search</button>
      {error && <span class="error" data-testid="search-error">{error.message}</span>}
    </form>
  );
}

function page(route) {
  const [name, arg] = route.replace(/^#?\/?/, '').split('/');
  switch (name) {
    case 'block': return <Block id={arg} />;
    case 'tx': return <Tx hash={arg} />;
    case 'address': return <Address address={arg} />;
    case 'validators': return <Validators />;
    case 'candidate': return <Candidate owner={arg} />;
    case 'governance': return <Governance />;
    case 'supply': return <Supply />;
    case 'middleware': return <Middleware />;
    case 'instance': return <Instance id={arg} />;
    default: return <Home />;
  }
}

function App() {
  const [route, setRoute] = useState(location.hash);
  useEffect(() => {
    const changed = () => setRoute(location.hash);
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return (
    <>
      <header>
        <h1><a href="#/">CyberMiles explorer</a></h1>
        <nav>
          <a href="#/">Blocks</a>
          <a href="#/validators">Validators</a>
          <a href="#/governance">Governance</a>
          <a href="#/supply">Supply</a>
          <a href="#/middleware">Middleware</a>
        </nav>
        <Search />
      </header>
      <main key={route}>{page(route)}</main>
    </>
  );
}

render(<App />, document.getElementById('app'));

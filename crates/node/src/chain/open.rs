//! Opening the chain in its data dir.

use super::*;

impl Chain {
    /// Opens the chain in its data dir: creates genesis on first start; otherwise checks that the
    /// data dir was made from this genesis and opens the last finalized state where it lies on
    /// disk (nothing is loaded or rehashed: start-up does not grow with the state).
    pub fn open(config: ChainConfig, mempool: Arc<Mempool>) -> Result<Self, ChainError> {
        config.genesis.validate()?;
        let ledger = Ledger::from_genesis(&config.genesis);
        let store = Store::open_with(
            &config.db_path,
            Options {
                history: config.history,
                cache_bytes: config.db_cache_bytes,
                ..Options::default()
            },
        )?;
        let recovered = crate::state::recover_state(&store)?;
        if recovered > 0 {
            info!(
                blocks = recovered,
                "re-derived the state changes of finalized blocks not applied before the last stop"
            );
        }
        let document = genesis_document(&config.genesis);
        let genesis_block = match store.genesis_document()? {
            // A data dir made from this genesis: its block is on disk, its state is not rebuilt.
            Some(stored) if stored == document => store
                .block(0)?
                .ok_or(ChainError::MissingHead { height: 0 })?,
            Some(stored) => {
                return Err(lazai_storage::Error::GenesisMismatch {
                    stored,
                    expected: document,
                }
                .into());
            }
            None => {
                let state = lazai_ledger::genesis_state(&config.genesis)?;
                let block = config.genesis.block(state.root());
                let nodes: Vec<(B256, Bytes)> =
                    state.nodes().map(|(h, raw)| (*h, raw.clone())).collect();
                let writes = StateWrites {
                    entries: state.writes(),
                    nodes: &nodes,
                    stale: &[],
                    upper: &[],
                };
                store.init_genesis(&block, document, writes)?;
                info!(hash = %block.hash(), chain_id = config.genesis.chain_id, "initialised genesis");
                block
            }
        };
        let height = store.head()?.unwrap_or(0);
        let block = store
            .block(height)?
            .ok_or(ChainError::MissingHead { height })?;
        let root = block.header.state_root;
        let snapshot = store.snapshot()?;
        if root != lazai_ledger::EMPTY_ROOT && snapshot.node(&root)?.is_none() {
            return Err(ChainError::MissingState { height, root });
        }
        let prefetcher = Prefetcher::spawn().map_err(ChainError::Prefetch)?;
        let source = StoreSource::new(snapshot, root).with_prefetcher(prefetcher.clone());
        let state = State::at(Arc::new(source), root);
        info!(height, hash = %block.hash(), state_root = %root, history = ?config.history, "chain opened");
        let (events, _) = broadcast::channel(1024);
        let hash = block.hash();
        Ok(Self {
            inner: Arc::new(Inner {
                ledger,
                genesis: config.genesis,
                genesis_block,
                store,
                mempool,
                head: RwLock::new(Head {
                    block: Arc::new(block),
                    hash,
                    state,
                }),
                candidates: Mutex::new(HashMap::new()),
                recent: Mutex::new(BTreeMap::new()),
                events,
                max_block_txs: config.max_block_txs,
                max_block_tx_bytes: config.max_block_tx_bytes,
                prefetcher,
            }),
        })
    }
}

import { describeGateStateContract } from './helpers/gate-state-contract';
import { MemoryState } from './memory-state';

// The engine's tests stand on this fake; it must keep the contract the real stores keep.
describeGateStateContract('in memory', async () => {
  let now = 1_000_000;
  const store = new MemoryState(() => now);
  return {
    store,
    staleReservationMs: store.staleReservationMs,
    advance: async (ms) => {
      now += ms;
    },
    refresh: async () => {},
    close: async () => {},
  };
});

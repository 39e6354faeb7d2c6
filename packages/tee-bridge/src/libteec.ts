/**
 * The GlobalPlatform TEE Client API (GPD_SPE_007), called through koffi: OP-TEE's libteec on a
 * board, or tee/host's libkmsgate-tee-host.so (the same API with the TA inside) on a host. Only
 * temporary memory references and values are used, so the only structure layout that matters is
 * TEEC_Operation (optee_client's tee_client_api.h, 64-bit): started u32, paramTypes u32, four
 * 24-byte parameter unions, the session pointer. Contexts and sessions are opaque blocks of
 * native memory larger than any implementation's.
 *
 * Every call passes native memory that stays allocated until the call returns, whatever the
 * caller does meanwhile: a call that timed out in the daemon may still be running in the TEE.
 */
import koffi from 'koffi';

/** TEEC_PARAM_TYPES values (tee_client_api.h). */
const TEEC_VALUE_INPUT = 0x1;
const TEEC_VALUE_OUTPUT = 0x2;
const TEEC_MEMREF_TEMP_INPUT = 0x5;
const TEEC_MEMREF_TEMP_OUTPUT = 0x6;
const TEEC_LOGIN_PUBLIC = 0;
const TEEC_SUCCESS = 0;

const OPAQUE_BYTES = 256;
const PARAM_BYTES = 24;
const OPERATION_BYTES = 8 + 4 * PARAM_BYTES + 8;

export type TeecParam =
  { kind: 'valueIn'; a: number; b?: number } | { kind: 'valueOut' } | { kind: 'memrefIn'; data: Uint8Array } | { kind: 'memrefOut'; size: number };

export type TeecOut = { kind: 'none' } | { kind: 'value'; a: number; b: number } | { kind: 'memref'; size: number; data: Uint8Array };

export interface TeecResult {
  result: number;
  origin: number;
  params: TeecOut[];
}

interface Binding {
  initializeContext: koffi.KoffiFunction;
  finalizeContext: koffi.KoffiFunction;
  openSession: koffi.KoffiFunction;
  closeSession: koffi.KoffiFunction;
  invokeCommand: koffi.KoffiFunction;
}

const bindings = new Map<string, Binding>();

function bind(libraryPath: string): Binding {
  let b = bindings.get(libraryPath);
  if (!b) {
    // The TEEC_Operation written below is the 64-bit layout: on a 32-bit process each parameter is
    // 12 bytes and pointers 4, and the TEE would read the wrong bytes (docs/tee-board.md).
    if (koffi.sizeof('void *') !== 8)
      throw new Error('the bridge daemon supports 64-bit processes only: TEEC_Operation is laid out for 64-bit targets (docs/tee-board.md, 32-bit boards)');
    let lib: koffi.IKoffiLib;
    try {
      lib = koffi.load(libraryPath);
    } catch (e) {
      throw new Error(`cannot load the TEE Client API library ${libraryPath}: ${(e as Error).message}`);
    }
    b = {
      initializeContext: lib.func('uint32_t TEEC_InitializeContext(const char *name, void *context)'),
      finalizeContext: lib.func('void TEEC_FinalizeContext(void *context)'),
      openSession: lib.func(
        'uint32_t TEEC_OpenSession(void *context, void *session, void *destination, uint32_t connectionMethod, void *connectionData, void *operation, void *returnOrigin)',
      ),
      closeSession: lib.func('void TEEC_CloseSession(void *session)'),
      invokeCommand: lib.func('uint32_t TEEC_InvokeCommand(void *session, uint32_t commandID, void *operation, void *returnOrigin)'),
    };
    bindings.set(libraryPath, b);
  }
  return b;
}

/** 16 bytes of TEEC_UUID: the RFC 4122 fields in native (little-endian) order. */
export function uuidBytes(uuid: string): Uint8Array {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/.test(hex)) throw new RangeError(`not a lower-case UUID: ${uuid}`);
  const out = new Uint8Array(16);
  const v = new DataView(out.buffer);
  v.setUint32(0, Number.parseInt(hex.slice(0, 8), 16), true);
  v.setUint16(4, Number.parseInt(hex.slice(8, 12), 16), true);
  v.setUint16(6, Number.parseInt(hex.slice(12, 16), 16), true);
  for (let i = 0; i < 8; i++) out[8 + i] = Number.parseInt(hex.slice(16 + 2 * i, 18 + 2 * i), 16);
  return out;
}

class Native {
  readonly #blocks: unknown[] = [];

  alloc(bytes: number): { ptr: unknown; view: Uint8Array } {
    const ptr = koffi.alloc('uint8_t', Math.max(1, bytes));
    this.#blocks.push(ptr);
    const view = new Uint8Array(koffi.view(ptr, Math.max(1, bytes)));
    view.fill(0);
    return { ptr, view };
  }

  free(): void {
    for (const p of this.#blocks.splice(0)) koffi.free(p);
  }
}

function callAsync(fn: koffi.KoffiFunction, ...args: unknown[]): Promise<number> {
  return new Promise((resolve, reject) => {
    fn.async(...args, (err: unknown, result: number) => (err ? reject(err) : resolve(result)));
  });
}

export class TeecContext {
  readonly #b: Binding;
  readonly #ctx: unknown;
  #open = true;

  private constructor(b: Binding, ctx: unknown) {
    this.#b = b;
    this.#ctx = ctx;
  }

  /** TEEC_InitializeContext. `name` NULL is OP-TEE's default TEE; the host build takes a directory. */
  static initialize(libraryPath: string, name: string | null): TeecContext {
    const b = bind(libraryPath);
    const ctx = koffi.alloc('uint8_t', OPAQUE_BYTES);
    new Uint8Array(koffi.view(ctx, OPAQUE_BYTES)).fill(0);
    const res = b.initializeContext(name, ctx) as number;
    if (res !== TEEC_SUCCESS) {
      koffi.free(ctx);
      throw Object.assign(new Error(`TEEC_InitializeContext failed: 0x${(res >>> 0).toString(16)}`), { teec: res >>> 0, origin: 1 });
    }
    return new TeecContext(b, ctx);
  }

  /** TEEC_OpenSession with TEEC_LOGIN_PUBLIC, off the event loop (the first open loads the TA). */
  async openSession(uuid: string): Promise<TeecSession | { result: number; origin: number }> {
    if (!this.#open) throw new Error('the TEEC context is finalized');
    const mem = new Native();
    const session = koffi.alloc('uint8_t', OPAQUE_BYTES);
    new Uint8Array(koffi.view(session, OPAQUE_BYTES)).fill(0);
    const dest = mem.alloc(16);
    dest.view.set(uuidBytes(uuid));
    const origin = mem.alloc(4);
    try {
      const result = (await callAsync(this.#b.openSession, this.#ctx, session, dest.ptr, TEEC_LOGIN_PUBLIC, null, null, origin.ptr)) >>> 0;
      const o = new DataView(origin.view.buffer, origin.view.byteOffset).getUint32(0, true);
      if (result !== TEEC_SUCCESS) {
        koffi.free(session);
        return { result, origin: o };
      }
      return new TeecSession(this.#b, session);
    } finally {
      mem.free();
    }
  }

  finalize(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#b.finalizeContext(this.#ctx);
    koffi.free(this.#ctx);
  }
}

export class TeecSession {
  readonly #b: Binding;
  readonly #session: unknown;
  #open = true;

  constructor(b: Binding, session: unknown) {
    this.#b = b;
    this.#session = session;
  }

  /** TEEC_InvokeCommand on a libuv worker thread; the JavaScript thread never blocks on the TEE. */
  async invoke(commandId: number, params: readonly TeecParam[]): Promise<TeecResult> {
    if (!this.#open) throw new Error('the TEEC session is closed');
    if (params.length > 4) throw new RangeError('at most 4 parameters');
    const mem = new Native();
    try {
      const op = mem.alloc(OPERATION_BYTES);
      const dv = new DataView(op.view.buffer, op.view.byteOffset, OPERATION_BYTES);
      const outs: Array<{ view: Uint8Array } | undefined> = [];
      let types = 0;
      params.forEach((p, i) => {
        const at = 8 + i * PARAM_BYTES;
        switch (p.kind) {
          case 'valueIn':
            types |= TEEC_VALUE_INPUT << (4 * i);
            dv.setUint32(at, p.a >>> 0, true);
            dv.setUint32(at + 4, (p.b ?? 0) >>> 0, true);
            break;
          case 'valueOut':
            types |= TEEC_VALUE_OUTPUT << (4 * i);
            break;
          case 'memrefIn': {
            types |= TEEC_MEMREF_TEMP_INPUT << (4 * i);
            const block = mem.alloc(p.data.length);
            block.view.set(p.data);
            dv.setBigUint64(at, koffi.address(block.ptr), true);
            dv.setBigUint64(at + 8, BigInt(p.data.length), true);
            break;
          }
          case 'memrefOut': {
            types |= TEEC_MEMREF_TEMP_OUTPUT << (4 * i);
            const block = mem.alloc(p.size);
            outs[i] = block;
            dv.setBigUint64(at, koffi.address(block.ptr), true);
            dv.setBigUint64(at + 8, BigInt(p.size), true);
            break;
          }
        }
      });
      dv.setUint32(4, types, true);
      const origin = mem.alloc(4);
      const result = (await callAsync(this.#b.invokeCommand, this.#session, commandId >>> 0, op.ptr, origin.ptr)) >>> 0;
      const out: TeecOut[] = params.map((p, i) => {
        const at = 8 + i * PARAM_BYTES;
        if (p.kind === 'valueOut') return { kind: 'value', a: dv.getUint32(at, true), b: dv.getUint32(at + 4, true) };
        if (p.kind === 'memrefOut') {
          const size = Number(dv.getBigUint64(at + 8, true));
          return { kind: 'memref', size, data: size <= p.size ? outs[i]!.view.slice(0, size) : new Uint8Array(0) };
        }
        return { kind: 'none' };
      });
      return { result, origin: new DataView(origin.view.buffer, origin.view.byteOffset).getUint32(0, true), params: out };
    } finally {
      mem.free();
    }
  }

  close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#b.closeSession(this.#session);
    koffi.free(this.#session);
  }
}

export { TEEC_SUCCESS };

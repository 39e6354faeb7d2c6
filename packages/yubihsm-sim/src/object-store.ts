// The device's object storage: objects keyed by (type, id), a fixed record capacity and the
// per-(type, id) sequence counter reported by GET_OBJECT_INFO and LIST_OBJECTS.
import { randomInt } from 'node:crypto';
import { DeviceError, DeviceErrorCode, type GetStorageInfo, LABEL_LENGTH } from '@kmsgate/yubihsm';

/** Product overview / GET_STORAGE_INFO docs: 256 object records. */
export const OBJECT_CAPACITY = 256;
/**
 * GET_STORAGE_INFO page's example (`free pages: 1023/1024 page size: 126 bytes` on a reset
 * device): 126 KB of object storage in 126-byte pages; "each object takes a record slot and will
 * use as many pages as needed".
 */
export const PAGE_CAPACITY = 1024;
export const PAGE_SIZE = 126;
/** Object IDs are 16-bit; 0x0000 asks the device to choose and 0xFFFF is reserved. */
export const MIN_OBJECT_ID = 0x0001;
export const MAX_OBJECT_ID = 0xfffe;

export interface StoredObject {
  readonly id: number;
  readonly type: number;
  readonly algorithm: number;
  /** Exactly LABEL_LENGTH bytes. */
  readonly label: Uint8Array;
  readonly domains: number;
  readonly capabilities: bigint;
  /** Only authentication and wrap keys carry delegated capabilities; 0 for the rest. */
  readonly delegatedCapabilities: bigint;
  readonly sequence: number;
  readonly origin: number;
  /**
   * The object's content. Asymmetric keys as key-crypto.ts documents (EC scalar d, Ed25519 seed,
   * RSA private key as PKCS#8 DER), K-ENC || K-MAC for an authentication key, the data of an
   * opaque object. Key material never leaves the simulator except through the state file.
   */
  readonly secret: Uint8Array;
}

export type NewObject = Omit<StoredObject, 'sequence'>;

export interface ObjectStoreSnapshot {
  objects: readonly StoredObject[];
  /** Last sequence number used per `type:id`, kept after deletion so a re-created object counts on. */
  sequences: ReadonlyArray<readonly [string, number]>;
}

/** Labels are stored in their 40-byte wire form so LIST_OBJECTS and GET_OBJECT_INFO agree. */
export function padLabel(label: Uint8Array): Uint8Array {
  const out = new Uint8Array(LABEL_LENGTH);
  out.set(label.subarray(0, LABEL_LENGTH));
  return out;
}

const keyOf = (type: number, id: number): string => `${type}:${id}`;

export class ObjectStore {
  // A Map keeps insertion order, which LIST_OBJECTS reports, like the device's storage order.
  private readonly objects = new Map<string, StoredObject>();
  private readonly sequences = new Map<string, number>();

  /** `lengthOf`: an object's stored length (GET_OBJECT_INFO's), which sets the pages it takes. */
  constructor(
    private readonly capacity = OBJECT_CAPACITY,
    private readonly lengthOf: (object: StoredObject) => number = (o) => o.secret.length,
  ) {}

  get size(): number {
    return this.objects.size;
  }

  get(type: number, id: number): StoredObject | undefined {
    return this.objects.get(keyOf(type, id));
  }

  all(): StoredObject[] {
    return [...this.objects.values()];
  }

  /**
   * Stores a new object, resolving id 0 to a free id. The sequence starts at 0 and counts each
   * later re-creation of the same (type, id), wrapping at 8 bits like the one-byte field.
   */
  insert(object: NewObject): StoredObject {
    if (this.objects.size >= this.capacity) throw new DeviceError(DeviceErrorCode.STORAGE_FAILED);
    const id = object.id === 0 ? this.freeId() : object.id;
    const key = keyOf(object.type, id);
    if (this.objects.has(key)) throw new DeviceError(DeviceErrorCode.OBJECT_EXISTS);
    const previous = this.sequences.get(key);
    const sequence = previous === undefined ? 0 : (previous + 1) & 0xff;
    const stored: StoredObject = { ...object, id, sequence };
    if (this.pagesOf(stored) > PAGE_CAPACITY - this.pagesUsed()) throw new DeviceError(DeviceErrorCode.STORAGE_FAILED);
    this.objects.set(key, stored);
    this.sequences.set(key, sequence);
    return stored;
  }

  /** Replaces an existing object in place (same record, same sequence): CHANGE_AUTHENTICATION_KEY. */
  replace(object: StoredObject): void {
    const key = keyOf(object.type, object.id);
    const current = this.objects.get(key);
    if (current === undefined) throw new DeviceError(DeviceErrorCode.OBJECT_NOT_FOUND);
    if (this.pagesOf(object) - this.pagesOf(current) > PAGE_CAPACITY - this.pagesUsed()) throw new DeviceError(DeviceErrorCode.STORAGE_FAILED);
    this.objects.set(key, { ...object, sequence: current.sequence });
  }

  /** GET_STORAGE_INFO. */
  usage(): GetStorageInfo.Response {
    return {
      totalRecords: this.capacity,
      freeRecords: this.capacity - this.objects.size,
      totalPages: PAGE_CAPACITY,
      freePages: PAGE_CAPACITY - this.pagesUsed(),
      pageSize: PAGE_SIZE,
    };
  }

  delete(type: number, id: number): boolean {
    return this.objects.delete(keyOf(type, id));
  }

  clear(): void {
    this.objects.clear();
    this.sequences.clear();
  }

  snapshot(): ObjectStoreSnapshot {
    return { objects: this.all(), sequences: [...this.sequences.entries()] };
  }

  restore(snapshot: ObjectStoreSnapshot): void {
    this.clear();
    for (const [key, sequence] of snapshot.sequences) this.sequences.set(key, sequence);
    for (const object of snapshot.objects) this.objects.set(keyOf(object.type, object.id), object);
  }

  private pagesOf(object: StoredObject): number {
    return Math.max(1, Math.ceil(this.lengthOf(object) / PAGE_SIZE));
  }

  private pagesUsed(): number {
    let pages = 0;
    for (const object of this.objects.values()) pages += this.pagesOf(object);
    return pages;
  }

  /**
   * A random id not used by any object of any type. Hardware hands out ids that look random
   * (python-yubihsm's test vectors show 0x648f); avoiding every type keeps ids unambiguous.
   */
  private freeId(): number {
    const used = new Set([...this.objects.values()].map((o) => o.id));
    for (let attempt = 0; attempt < 64; attempt++) {
      const candidate = randomInt(MIN_OBJECT_ID, MAX_OBJECT_ID + 1);
      if (!used.has(candidate)) return candidate;
    }
    for (let candidate = MIN_OBJECT_ID; candidate <= MAX_OBJECT_ID; candidate++) {
      if (!used.has(candidate)) return candidate;
    }
    throw new DeviceError(DeviceErrorCode.STORAGE_FAILED);
  }
}

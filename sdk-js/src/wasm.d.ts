/**
 * The shape of `sdk-js/wasm/edgecdp_wasm.js`, the wasm-bindgen (`--target web`) glue of
 * crates/wasm. It is built by `cargo xtask`, not by this package: core.ts loads it (`default`,
 * `initSync`) and the SDK calls it as `Core` (types.ts), a subset of this declaration;
 * test/wasm.test.mjs checks the real module's exports when it is present. The on-device decider
 * (crates/wasm-device) is declared by `Device` and `Decider` in types.ts.
 * @module
 */
import type {
  DecodedIdentityCookie,
  Envelope,
  NormalizedEvent,
} from "./types.js";

/** What `default(...)` accepts: where the `.wasm` is, or its bytes / compiled module. */
export type InitInput =
  | RequestInfo
  | URL
  | Response
  | BufferSource
  | WebAssembly.Module;

/** Instantiates the module asynchronously (streaming when given a URL or Response). */
export default function init(
  moduleOrPath?: { module_or_path: InitInput | Promise<InitInput> },
): Promise<unknown>;

/** Instantiates the module synchronously from bytes or a compiled module. */
export function initSync(module: { module: BufferSource | WebAssembly.Module }): unknown;

/** Version of the edgecdp core crate. */
export function version(): string;

/** Version of the tests/spec vector format the core implements. */
export function specVersion(): number;

/** Validates and normalizes one event; errors name the offending field path. */
export function validateEvent(event: { xdm: object; data?: object }): Envelope<NormalizedEvent>;

/** Decodes a `kndctr_{org}_identity` cookie value (base64 protobuf, field 1 = ECID). */
export function decodeIdentityCookie(value: string): Envelope<DecodedIdentityCookie>;

// Types for the parts of buffer-layout (https://github.com/pabigot/buffer-layout, v1.2) that
// kubewire uses: fixed-size structures of integers, encoded into and decoded from a Buffer.
declare module "buffer-layout" {
  export class Layout<T = unknown> {
    readonly span: number;
    readonly property?: string;
    decode(b: Buffer, offset?: number): T;
    encode(src: T, b: Buffer, offset?: number): number;
    getSpan(b?: Buffer, offset?: number): number;
  }
  export class Structure<T = Record<string, unknown>> extends Layout<T> {
    readonly fields: Layout[];
  }
  export function u8(property?: string): Layout<number>;
  export function u16(property?: string): Layout<number>;
  export function u32(property?: string): Layout<number>;
  export function s32(property?: string): Layout<number>;
  /** A 64-bit signed integer decoded to the nearest number (exact within ±2^53). */
  export function ns64(property?: string): Layout<number>;
  export function u16be(property?: string): Layout<number>;
  export function u32be(property?: string): Layout<number>;
  export function s32be(property?: string): Layout<number>;
  export function ns64be(property?: string): Layout<number>;
  export function struct<T = Record<string, unknown>>(
    fields: Layout<unknown>[],
    property?: string,
    decodePrefixes?: boolean,
  ): Structure<T>;
}

/**
 * The one bounds-checked little-endian reader the quote parser uses. Every read names the field
 * it is reading, so a short or truncated quote is reported as "which field, where, how short".
 * Reads are zero-copy views (subarray) into the caller's bytes.
 */
import { DomainError, ErrorCode } from '../../../common/errors';

export class BinaryReader {
  private offset = 0;
  /** Typed reads (never undefined) once `take` has checked the bounds. */
  private readonly view: DataView;

  /**
   * @param bytes the window this reader may read
   * @param baseOffset where `bytes` starts inside the whole quote, so messages give absolute offsets
   */
  constructor(
    private readonly bytes: Uint8Array,
    private readonly baseOffset = 0,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Absolute offset (in the whole quote) of the next byte to read. */
  get position(): number {
    return this.baseOffset + this.offset;
  }

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  u8(field: string): number {
    return this.view.getUint8(this.take(field, 1));
  }

  u16(field: string): number {
    return this.view.getUint16(this.take(field, 2), true);
  }

  u32(field: string): number {
    return this.view.getUint32(this.take(field, 4), true);
  }

  bytesOf(field: string, length: number): Uint8Array {
    const at = this.take(field, length);
    return this.bytes.subarray(at, at + length);
  }

  /**
   * A reader over the next `declaredLength` bytes (a length-prefixed structure), consuming them
   * here. If fewer bytes are present than declared, the child covers what is there, so the first
   * nested read that runs off the end names its own field; the caller then checks `isComplete`.
   */
  nested(declaredLength: number): { reader: BinaryReader; presentLength: number } {
    const presentLength = Math.min(declaredLength, this.remaining);
    const child = new BinaryReader(this.bytes.subarray(this.offset, this.offset + presentLength), this.position);
    this.offset += presentLength;
    return { reader: child, presentLength };
  }

  private take(field: string, length: number): number {
    if (length > this.remaining) {
      throw new DomainError(ErrorCode.QUOTE_MALFORMED, `quote too short: ${field} at offset ${this.position} needs ${length} bytes, ${this.remaining} left`, {
        field,
        offset: this.position,
        needed: length,
        left: this.remaining,
      });
    }
    const at = this.offset;
    this.offset += length;
    return at;
  }
}

/**
 * Renders Kontor's toolbar icons (a rounded square with a "K" made of three strokes) into
 * PNGs under assets/icons/. Run once when the design changes; the PNGs are committed.
 * Variants: default (blue) and partner (green, shown on a recognised partner's page).
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
function png(size: number, pixel: (x: number, y: number) => [number, number, number, number]): Buffer {
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0;
    for (let x = 0; x < size; x++) {
      const p = pixel(x, y);
      raw.set(p, y * (size * 4 + 1) + 1 + x * 4);
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
function segDist(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax,
    dy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(px - ax - t * dx, py - ay - t * dy);
}
function render(size: number, bg: [number, number, number]): Buffer {
  const ss = 4; // supersampling for smooth edges
  return png(size, (x, y) => {
    let cover = 0,
      white = 0;
    for (let i = 0; i < ss; i++)
      for (let j = 0; j < ss; j++) {
        const u = (x + (i + 0.5) / ss) / size,
          v = (y + (j + 0.5) / ss) / size;
        const r = 0.2,
          cx = Math.min(Math.max(u, r), 1 - r),
          cy = Math.min(Math.max(v, r), 1 - r);
        if (Math.hypot(u - cx, v - cy) > r) continue;
        cover++;
        const w = 0.085;
        if (
          segDist(u, v, 0.34, 0.24, 0.34, 0.76) < w ||
          segDist(u, v, 0.38, 0.52, 0.7, 0.24) < w ||
          segDist(u, v, 0.45, 0.46, 0.7, 0.76) < w
        )
          white++;
      }
    const n = ss * ss;
    if (!cover) return [0, 0, 0, 0];
    const f = white / cover;
    return [
      Math.round(bg[0] * (1 - f) + 255 * f),
      Math.round(bg[1] * (1 - f) + 255 * f),
      Math.round(bg[2] * (1 - f) + 255 * f),
      Math.round((255 * cover) / n),
    ];
  });
}
mkdirSync('assets/icons', { recursive: true });
for (const size of [16, 32, 48, 128]) {
  writeFileSync(`assets/icons/icon-${size}.png`, render(size, [11, 92, 173]));
  writeFileSync(`assets/icons/icon-partner-${size}.png`, render(size, [26, 127, 55]));
}
console.log('icons written to assets/icons/');

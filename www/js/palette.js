// The head colours (head view lines, toggles, entropy bars). Chosen by scripts/head-palette.mjs:
// each has 3:1 contrast with the page, and any two differ by CIEDE2000 ΔE ≥ 14 with normal vision
// and under simulated protanopia, deuteranopia and tritanopia (Machado et al. 2009, severity 1);
// tests/browser/palette.test.mjs holds them to ΔE ≥ 12 and to 4.5:1 for the toggles' numbers.
export const HEAD_COLORS = ['#0000d2', '#e16900', '#00a569', '#c31e00', '#7887ff', '#964b69',
  '#004b3c', '#b47896', '#5a2d69', '#3c0000', '#5a69b4', '#00002d'];

const channels = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));

/** Head `h`'s colour (of `heads`), with `alpha`; past 12 heads, evenly spaced hues. */
export function headColor(h, heads, alpha = 1) {
  if (heads <= HEAD_COLORS.length) return `rgba(${channels(HEAD_COLORS[h % HEAD_COLORS.length]).join(', ')}, ${alpha})`;
  return `hsla(${Math.round((360 * h) / heads)}, 75%, 35%, ${alpha})`;
}

/** '#fff' or '#000', whichever reads better on head `h`'s colour (WCAG contrast). */
export function textOn(h, heads) {
  if (heads > HEAD_COLORS.length) return '#fff';
  const [r, g, b] = channels(HEAD_COLORS[h % HEAD_COLORS.length]).map((v) => ((v /= 255) <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
  const lum = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return 1.05 / (lum + 0.05) >= (lum + 0.05) / 0.05 ? '#fff' : '#000';
}

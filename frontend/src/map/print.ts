// "Print" the map as a PNG: the current view with a title, the date, a scale bar and the legend of the visible
// layers (and of the analysis results), composed on a canvas and downloaded; nothing leaves the browser.
import type * as maplibregl from "maplibre-gl";
import { format, metres, type MapConfig, type Strings } from "./config";

const NICE = [1, 2, 5];
type Entry = { label: string; colour: string; geometry: string };
type Block = { title: string; entries: Entry[] };

function scaleBar(map: maplibregl.Map, maxPixels: number): { pixels: number; metres: number } {
  const latitude = map.getCenter().lat;
  const metresPerPixel = (40075016.686 * Math.cos((latitude * Math.PI) / 180)) / (512 * 2 ** map.getZoom());
  const target = metresPerPixel * maxPixels;
  const magnitude = 10 ** Math.floor(Math.log10(target));
  let best = magnitude;
  for (const step of NICE) if (step * magnitude <= target) best = step * magnitude;
  return { pixels: best / metresPerPixel, metres: best };
}

function font(size: number, weight = 400): string {
  const family = getComputedStyle(document.body).fontFamily || "sans-serif";
  return `${weight} ${size}px ${family}`;
}

function legendBlocks(config: MapConfig, visible: Set<string>, extra: Entry[]): Block[] {
  const simple: Entry[] = [];
  const blocks: Block[] = [];
  for (const layer of config.layers) {
    if (!visible.has(layer.name)) continue;
    if (layer.legend.length) {
      blocks.push({ title: layer.title, entries: layer.legend.map(([, label, colour]) => ({ label, colour, geometry: layer.geometry })) });
    } else {
      simple.push({ label: layer.title, colour: layer.name === "buildings" ? "#d4d8de" : layer.colour, geometry: layer.geometry });
    }
  }
  return [{ title: "", entries: [...simple, ...extra] }, ...blocks];
}

export interface PrintOptions {
  municipality: string;
  timeZone: string;
  extra: Entry[]; // e.g. the analysis results, when shown
}

export function printMap(map: maplibregl.Map, config: MapConfig, visible: Set<string>, strings: Strings, options: PrintOptions): void {
  map.once("render", () => {
    const source = map.getCanvas();
    const ratio = source.width / source.clientWidth || 1;
    const px = (value: number): number => value * ratio;
    const canvas = document.createElement("canvas");
    const measure = canvas.getContext("2d");
    if (!measure) return;

    // legend layout: per block, as many columns as its longest label allows
    measure.font = font(px(12));
    const blocks = legendBlocks(config, visible, options.extra).filter((block) => block.entries.length);
    const row = px(20);
    const layout = blocks.map((block) => {
      const widest = Math.max(...block.entries.map((entry) => measure.measureText(entry.label).width));
      const cell = widest + px(24 + 24);
      const columns = Math.max(1, Math.floor((source.width - px(32)) / cell));
      return { block, cell, columns, height: (block.title ? row : 0) + Math.ceil(block.entries.length / columns) * row + px(6) };
    });
    const header = px(56);
    const footer = layout.reduce((sum, item) => sum + item.height, 0) + px(24);
    canvas.width = source.width;
    canvas.height = source.height + header + footer;
    const ctx = canvas.getContext("2d");
    if (!ctx) return;
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.textBaseline = "middle";

    // title and date
    ctx.fillStyle = "#0f172a";
    ctx.font = font(px(20), 600);
    ctx.fillText(format(strings.print_title, { municipality: options.municipality }), px(16), header / 2 - px(6));
    ctx.font = font(px(12));
    ctx.fillStyle = "#475569";
    const language = document.documentElement.lang.startsWith("bn") ? "bn-BD" : "en-GB";
    let date: string;
    try {
      date = new Intl.DateTimeFormat(language, { dateStyle: "medium", timeStyle: "short", timeZone: options.timeZone }).format(new Date());
    } catch {
      date = new Intl.DateTimeFormat(language, { dateStyle: "medium", timeStyle: "short" }).format(new Date());
    }
    ctx.fillText(format(strings.printed_on, { date }), px(16), header / 2 + px(14));

    // the map with a frame and a scale bar
    ctx.drawImage(source, 0, header);
    ctx.strokeStyle = "#cbd5e1";
    ctx.lineWidth = ratio;
    ctx.strokeRect(0.5, header + 0.5, source.width - 1, source.height - 1);
    const bar = scaleBar(map, 140);
    const x = px(16);
    const y = header + source.height - px(18);
    const text = metres(bar.metres, strings);
    ctx.font = font(px(11));
    ctx.fillStyle = "rgba(255,255,255,0.85)";
    ctx.fillRect(x - px(8), y - px(14), bar.pixels * ratio + ctx.measureText(text).width + px(24), px(26));
    ctx.fillStyle = "#0f172a";
    ctx.fillRect(x, y, bar.pixels * ratio, px(3));
    ctx.fillRect(x, y - px(6), px(2), px(9));
    ctx.fillRect(x + bar.pixels * ratio - px(2), y - px(6), px(2), px(9));
    ctx.fillText(text, x + bar.pixels * ratio + px(8), y);

    // legend
    let top = header + source.height + px(12);
    for (const { block, cell, columns, height } of layout) {
      let first = top;
      if (block.title) {
        ctx.font = font(px(12), 600);
        ctx.fillStyle = "#0f172a";
        ctx.fillText(block.title, px(16), top + row / 2);
        first += row;
      }
      ctx.font = font(px(12));
      block.entries.forEach((entry, index) => {
        const cx = px(16) + (index % columns) * cell;
        const cy = first + Math.floor(index / columns) * row + row / 2;
        ctx.fillStyle = entry.colour;
        ctx.strokeStyle = "rgba(15,23,42,0.45)";
        ctx.lineWidth = ratio;
        if (entry.geometry === "Point") {
          ctx.beginPath();
          ctx.arc(cx + px(8), cy, px(5), 0, Math.PI * 2);
          ctx.fill();
          ctx.stroke();
        } else if (entry.geometry === "LineString") {
          ctx.fillRect(cx, cy - px(2), px(16), px(4));
        } else {
          ctx.fillRect(cx, cy - px(6), px(16), px(12));
          ctx.strokeRect(cx, cy - px(6), px(16), px(12));
        }
        ctx.fillStyle = "#1e293b";
        ctx.fillText(entry.label, cx + px(24), cy);
      });
      top += height;
    }

    canvas.toBlob((blob) => {
      if (!blob) return;
      const link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      const stamp = new Date().toISOString().slice(0, 16).replace(/[:T]/g, "-");
      link.download = `map-${stamp}.png`;
      document.body.append(link);
      link.click();
      link.remove();
      window.setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    }, "image/png");
  });
  map.triggerRepaint();
}

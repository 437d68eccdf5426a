// The simulated counter terminal: the firmware (appliance/) running on the real MicroPython
// interpreter (WebAssembly build), its link UART bound to a pty, paced at the configured baud
// rate as a real UART would be. drivers/sim/terminal.py starts it; the box's driver opens the
// other side of the pty with pyserial.
//
//   node terminal.mjs --fd N --serial S --seed HEX [--key HEX] [--baud 115200]
//
// stdin (one command per line, from the simulator's owner):
//   press KEYS        press each key in turn (held 60 ms, released 60 ms), through the matrix
//   scan TEXT         the QR scanner module reads TEXT
//   mute on|off       the cable stops carrying bytes (both ways) / carries them again
//   tap on|off        report every byte on the cable: {"rx": hex} (box -> terminal), {"tx": hex}
//   inject HEX        put bytes on the cable towards the box (a device spliced into the line)
// stdout (one JSON object per line): {"screen": [line1, line2]}, {"key": "<hex or empty>"},
//   {"pressed": key} (the finger lands), {"ready": true}, {"stats": {"feeds": n, "longest_gap_ms": n, "rejected": n}}
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";
import { readFileSync, readdirSync, createReadStream, writeSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
const fd = Number(args.fd);
const baud = Number(args.baud || 115200);
const msPerByte = baud > 0 ? (10 * 1000) / baud : 0; // 8N1: ten bit times per byte; 0: unpaced
let muted = false;
let tapped = false;

const emit = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const mp = await loadMicroPython({
  stdout: (l) => process.stderr.write(`mpy: ${l}\n`),
  stderr: (l) => process.stderr.write(`mpy: ${l}\n`),
});
mp.FS.mkdir("/app");
mp.FS.mkdir("/app/appliance");
for (const f of readdirSync(join(root, "appliance"))) {
  if (f.endsWith(".py") && f !== "main.py" && f !== "hal_board.py") {
    mp.FS.writeFile(`/app/appliance/${f}`, readFileSync(join(root, "appliance", f)));
  }
}

// Box -> terminal and terminal -> box, each delayed by its time on the wire.
let txFree = 0;
globalThis.comptoirTx = (hex) => {
  if (muted) return;
  const data = Buffer.from(hex, "hex");
  if (tapped) emit({ tx: hex });
  const now = performance.now();
  txFree = Math.max(now, txFree) + data.length * msPerByte;
  setTimeout(() => {
    try { writeSync(fd, data); } catch (e) { /* the box side is gone: like a UART, drop */ }
  }, txFree - now);
};
globalThis.comptoirEmit = (json) => process.stdout.write(json + "\n");

mp.runPython(`
import sys
sys.path.insert(0, "/app")
import asyncio, binascii, json, time, js
from appliance import firmware, hal_sim

class Bridge:
    def __init__(self, serial, seed, key):
        start = time.ticks_ms()
        self.board = hal_sim.SimBoard(serial, seed, clock=lambda: time.ticks_diff(time.ticks_ms(), start), key=key)
        self.board.uart.sink = lambda data: js.comptoirTx(binascii.hexlify(data).decode())
        self.board.on_key_change = lambda k: js.comptoirEmit(json.dumps({"key": binascii.hexlify(k).decode() if k else ""}))
        self.terminal = firmware.Terminal(self.board)
        self.keys = []
        self.shown = None

    def rx(self, hexdata):
        self.board.uart.inject(binascii.unhexlify(hexdata))

    def command(self, line):
        verb, _, rest = line.partition(" ")
        if verb == "press":
            self.keys.extend(rest)
        elif verb == "scan":
            self.board.scanner_uart.inject(rest.encode() + b"\\r")

    async def presser(self):
        while True:
            if self.keys:
                self.board.matrix.held = self.keys.pop(0)
                js.comptoirEmit(json.dumps({"pressed": self.board.matrix.held}))
                await asyncio.sleep_ms(60)
                self.board.matrix.held = ""
            await asyncio.sleep_ms(60)

    async def watcher(self):
        n = 0
        while True:
            lines = self.board.lcd.lines()
            if lines != self.shown:
                self.shown = lines
                js.comptoirEmit(json.dumps({"screen": lines}))
            n += 1
            if n % 25 == 0:
                wdt = self.board.wdt
                stats = {"feeds": wdt.feeds, "longest_gap_ms": wdt.longest_gap, "rejected": self.terminal.link.rejected}
                js.comptoirEmit(json.dumps({"stats": stats}))
            await asyncio.sleep_ms(20)

bridge = Bridge(${JSON.stringify(args.serial)}, binascii.unhexlify(${JSON.stringify(args.seed)}), binascii.unhexlify(${JSON.stringify(args.key || "")}) or None)
asyncio.create_task(firmware.run(bridge.terminal))
asyncio.create_task(bridge.presser())
asyncio.create_task(bridge.watcher())
`);

let rxFree = 0;
const input = createReadStream(null, { fd, highWaterMark: 1024 });
input.on("data", (chunk) => {
  if (muted) return;
  const now = performance.now();
  rxFree = Math.max(now, rxFree) + chunk.length * msPerByte;
  const hex = chunk.toString("hex");
  if (tapped) emit({ rx: hex });
  setTimeout(() => mp.runPython(`bridge.rx("${hex}")`), rxFree - now);
});
input.on("error", () => {}); // EIO while no one holds the other side: stay powered

createInterface({ input: process.stdin }).on("line", (line) => {
  if (line.startsWith("mute ")) muted = line === "mute on";
  else if (line.startsWith("tap ")) tapped = line === "tap on";
  else if (line.startsWith("inject ")) writeSync(fd, Buffer.from(line.slice(7), "hex"));
  else mp.runPython(`bridge.command(${JSON.stringify(line)})`);
});
process.stdin.on("end", () => process.exit(0)); // the simulator's owner went away
emit({ ready: true });

// The real-time driver: virtual timers fire when their wall time comes, sleeps and waits are
// measured on both clocks alike, traffic code's sends run without help, and the driver stops on
// an abort, a process signal or the end of the traffic, leaving no timer behind.
import { describe, expect, it } from "vitest";
import { RealtimeDriver } from "../../src/net/index.js";
import { Scheduler } from "../../src/sim/index.js";

const wallMs = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e6;

describe("real-time driver", () => {
  it("fires a virtual timer when its wall time comes, at its exact virtual time", async () => {
    const sched = new Scheduler();
    const rt = new RealtimeDriver(sched);
    const start = process.hrtime.bigint();
    const fired: { virt: number; wall: number }[] = [];
    sched.after(30e6, () => fired.push({ virt: sched.now, wall: wallMs(start) }));
    sched.after(60e6, () => fired.push({ virt: sched.now, wall: wallMs(start) }));
    await rt.run(() => rt.sleep(80));
    expect(fired.map((f) => f.virt)).toEqual([30e6, 60e6]);
    expect(fired[0].wall).toBeGreaterThanOrEqual(29);
    expect(fired[1].wall).toBeGreaterThanOrEqual(59);
    expect(fired[1].wall).toBeLessThan(1000);
    // Virtual time kept pace with the wall: at least the 80 ms slept.
    expect(sched.now).toBeGreaterThanOrEqual(80e6);
    expect(rt.running).toBe(false);
  });

  it("continues from where deterministic time left off, and never goes back", async () => {
    const sched = new Scheduler();
    sched.run(5e9);
    const rt = new RealtimeDriver(sched);
    let at = 0;
    await rt.run(async () => {
      rt.step(() => sched.enqueue(() => (at = sched.now)));
      await rt.sleep(5);
    });
    expect(at).toBeGreaterThanOrEqual(5e9);
    expect(sched.now).toBeGreaterThanOrEqual(5e9 + 5e6);
  });

  it("runs what traffic code queues after an await, without an explicit step", async () => {
    const sched = new Scheduler();
    const rt = new RealtimeDriver(sched);
    let ran = 0;
    const r = await rt.run(async () => {
      await rt.sleep(1);
      sched.enqueue(() => ran++);
      await new Promise((resolve) => setTimeout(resolve, 5)); // a promise the driver knows nothing of
      return ran;
    });
    expect(r).toBe(1);
  });

  it("waitFor: true when the condition comes, false at the timeout (on the virtual clock)", async () => {
    const sched = new Scheduler();
    const rt = new RealtimeDriver(sched);
    let flag = false;
    sched.after(20e6, () => (flag = true));
    const [yes, no, t] = (await rt.run(async () => {
      const y = await rt.waitFor(() => flag, 1000);
      const t0 = sched.now;
      const n = await rt.waitFor(() => false, 25);
      return [y, n, sched.now - t0];
    }))!;
    expect(yes).toBe(true);
    expect(no).toBe(false);
    expect(t).toBeGreaterThanOrEqual(25e6);
  });

  it("stops on abort and on a process signal; waiters resolve false; no timer is left", async () => {
    const sched = new Scheduler();
    const ac = new AbortController();
    const rt = new RealtimeDriver(sched, { signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    expect(await rt.run(() => rt.waitFor(() => false, 60_000))).toBe(false);
    expect(rt.running).toBe(false);

    const rt2 = new RealtimeDriver(sched, { stopOn: ["SIGUSR2"] });
    const before = process.listenerCount("SIGUSR2");
    const done = rt2.run();
    expect(process.listenerCount("SIGUSR2")).toBe(before + 1);
    setTimeout(() => process.emit("SIGUSR2", "SIGUSR2"), 10);
    await done;
    expect(process.listenerCount("SIGUSR2")).toBe(before);
    // A timer far away was armed while running; after stop nothing keeps the event loop busy.
    sched.after(3600e9, () => {});
    rt2.kick();
    expect(rt2.running).toBe(false);
  });

  it("runs until a promise made elsewhere settles", async () => {
    const sched = new Scheduler();
    const rt = new RealtimeDriver(sched);
    let fired = false;
    sched.after(5e6, () => (fired = true));
    expect(await rt.run(new Promise((r) => setTimeout(() => r("done"), 20)))).toBe("done");
    expect(fired).toBe(true);
  });

  it("an exception in the traffic function propagates and stops the driver", async () => {
    const rt = new RealtimeDriver(new Scheduler());
    await expect(
      rt.run(async () => {
        await rt.sleep(1);
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(rt.running).toBe(false);
  });
});

// Camera and microphone pickers (settings page and the call screen).

/** Fills a <select> with devices; `selected` is a device id ("" = the system default). */
function fill(select, devices, selected, noun) {
  const options = [new Option(`System default`, "")];
  devices.forEach((device, index) => {
    options.push(new Option(device.label || `${noun} ${index + 1}`, device.deviceId));
  });
  select.replaceChildren(...options);
  select.value = devices.some((d) => d.deviceId === selected) ? selected : "";
  select.disabled = devices.length === 0;
  if (!devices.length) select.replaceChildren(new Option(`No ${noun.toLowerCase()} found`, ""));
}

/**
 * Keeps a camera and a microphone <select> in step with the devices (and the call's current
 * ones while a call is going on); a change selects the device (and swaps it during a call).
 * Returns {refresh()}; calls onError(err, kind) when a device cannot be opened.
 */
export function bindDevicePickers(sb, { camera, microphone, onError, onInfo }) {
  let seq = 0;

  async function refresh() {
    const mine = ++seq;
    let found;
    try {
      found = await sb.listDevices();
    } catch {
      found = { cameras: [], microphones: [] };
    }
    if (mine !== seq) return found;
    const chosen = sb.localStream ? { ...sb.preferredDevices, ...nonEmpty(sb.currentDevices) } : sb.preferredDevices;
    fill(camera, found.cameras, chosen.videoinput ?? "", "Camera");
    fill(microphone, found.microphones, chosen.audioinput ?? "", "Microphone");
    onInfo?.(found);
    return found;
  }

  function nonEmpty(devices) {
    return Object.fromEntries(Object.entries(devices).filter(([, v]) => v));
  }

  async function choose(kind, select) {
    select.disabled = true;
    try {
      if (kind === "videoinput") await sb.selectCamera(select.value);
      else await sb.selectMicrophone(select.value);
    } catch (err) {
      onError?.(err, kind);
    } finally {
      select.disabled = false;
      refresh();
    }
  }

  camera.addEventListener("change", () => choose("videoinput", camera));
  microphone.addEventListener("change", () => choose("audioinput", microphone));
  navigator.mediaDevices?.addEventListener?.("devicechange", () => refresh());
  return { refresh };
}

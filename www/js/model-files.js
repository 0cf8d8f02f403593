// A model folder's files as the page gets them, for pg.loadTextModelFiles / loadVisionModelFiles
// (which take an array of File): from an <input type=file> (a picked folder or several files) or
// from a drop (files, or a folder whose top-level files are taken: sub-folders such as onnx/ or
// 1_Pooling/ hold nothing the converters read, and may be large).

/** The files an <input type=file> holds, and the folder's name when a folder was picked. */
export function filesFromInput(input) {
  const files = [...(input.files ?? [])];
  const top = files[0]?.webkitRelativePath?.split('/')[0] || null;
  return { files, folder: top };
}

const fileOf = (entry) => new Promise((resolve, reject) => entry.file(resolve, reject));

async function topLevelFiles(dir) {
  const reader = dir.createReader();
  const out = [];
  // readEntries gives the entries in batches until an empty one.
  for (;;) {
    const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
    if (!batch.length) return out;
    for (const e of batch) if (e.isFile) out.push(await fileOf(e));
  }
}

/**
 * The files of a drop (a DataTransfer): plain files as they are, a dropped folder's top-level
 * files; `folder` is the dropped folder's name (the first one, if several).
 */
export async function filesFromDrop(dataTransfer) {
  const items = [...(dataTransfer.items ?? [])].filter((i) => i.kind === 'file');
  // Entries must be taken synchronously, before the first await ends the drop event's lifetime.
  const entries = items.map((i) => i.webkitGetAsEntry?.() ?? null);
  if (!entries.some((e) => e?.isDirectory)) return { files: [...(dataTransfer.files ?? [])], folder: null };
  const files = [];
  let folder = null;
  for (const [k, e] of entries.entries()) {
    if (e?.isDirectory) {
      folder ??= e.name;
      files.push(...(await topLevelFiles(e)));
    } else if (e?.isFile) files.push(await fileOf(e));
    else {
      const f = items[k].getAsFile();
      if (f) files.push(f);
    }
  }
  return { files, folder };
}

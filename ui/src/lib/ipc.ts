// The typed boundary to the Rust side. Mirrors src-tauri/src/dto.rs: every
// command the UI calls and every event it hears is declared here, once.
import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';

/** Every error from the backend arrives in this shape. */
export interface IpcError {
  code: string;
  message: string;
}

export interface DatabaseStatus {
  path: string;
  schema_version: number;
  sqlite_version: string;
}

export interface NodeStatus {
  version: string;
  data_dir: string;
  uptime_secs: number;
  database: DatabaseStatus;
}

export type NodeEvent = { kind: 'started' } | { kind: 'stopping' };

/** Name of the Tauri event carrying NodeEvents (dto::NODE_EVENT). */
export const NODE_EVENT = 'node-event';

export function isIpcError(value: unknown): value is IpcError {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as IpcError).code === 'string' &&
    typeof (value as IpcError).message === 'string'
  );
}

/** Normalises whatever a failed call threw into an IpcError. */
export function toIpcError(value: unknown): IpcError {
  if (isIpcError(value)) return value;
  if (value instanceof Error) return { code: 'ipc', message: value.message };
  return { code: 'ipc', message: String(value) };
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (e) {
    throw toIpcError(e);
  }
}

export const api = {
  nodeStatus: () => call<NodeStatus>('node_status'),
};

export function onNodeEvent(handler: (event: NodeEvent) => void): Promise<UnlistenFn> {
  return listen<NodeEvent>(NODE_EVENT, (e) => handler(e.payload));
}

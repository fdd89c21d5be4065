import crypto from "node:crypto";
import type { ErrorDetail } from "../../../protocol/http/error-codes";
import {
  providerKinds,
  providerLabels,
  type Provider,
  type ProviderKind,
  type TestConnectionResponse,
  type UpdateProviderRequest,
} from "../../../protocol/http/providers";
import { AppError } from "../domain/app-error";
import { callWithTimeout } from "../providers/call-with-timeout";
import { ProviderError, type ChatProvider } from "../providers/chat-provider";
import { createChatProvider } from "../providers/create-chat-provider";
import { normaliseProviderBaseUrl } from "../providers/normalise-provider-base-url";
import { defaultProviderBaseUrls, providerNeedsKey } from "../providers/provider-defaults";
import { ModelRepository, type ModelCounts } from "../storage/model-repository";
import { ProviderRepository, type ProviderChanges, type StoredProvider } from "../storage/provider-repository";
import { SecretBox, SecretBoxError } from "./secret-box";
import type { ServiceContext } from "./service-context";

/** What the catalog needs to know of a provider, from memory. */
export interface ProviderState {
  kind: ProviderKind;
  isActive: boolean;
  lastRefreshedAt: number | null;
}

export type RefreshResult = { refreshedAt: number } | { error: ErrorDetail };

// Keys shorter than this show no characters at all: four of a short key give too much away.
const minimumKeyLengthToShowLast4 = 12;
// "Test connection" must answer while the admin waits.
const testConnectionMaxMs = 10_000;

/**
 * Provider settings and keys (admin only) and the adapters built from them. Rows are read once and
 * kept in memory, so a send resolves its provider without a query; every write refreshes that copy,
 * drops the cached adapter (its SDK client holds the old key or URL) and tells listeners (the catalog).
 */
export class ProviderService {
  private readonly secretBox: SecretBox;
  private records: Map<ProviderKind, StoredProvider> | undefined;
  private loading: Promise<Map<ProviderKind, StoredProvider>> | undefined;
  private readonly adapters = new Map<ProviderKind, ChatProvider>();
  private readonly listeners = new Set<() => void>();
  /** Outside any transaction. */
  private readonly storedProviders: ProviderRepository;
  private readonly storedModels: ModelRepository;

  constructor(private readonly context: ServiceContext) {
    this.secretBox = new SecretBox(context.secretKey);
    this.storedProviders = new ProviderRepository(context.database);
    this.storedModels = new ModelRepository(context.database);
    context.cluster.onChange((change) => {
      if (change.kind === "providers") this.forgetHere({ keepAdapters: change.keepAdapters });
      else if (change.kind === "everything") this.forgetHere({});
    });
  }

  /**
   * On start: a row per kind (inactive, no key, the provider's public base URL), then the
   * environment presets. A preset overwrites, on every start, only what it sets; a preset key also
   * turns its provider on. A preset base URL keeps the stored key usable (the operator who sets the
   * environment holds SECRET_KEY anyway); keys stored before they were bound to their address are
   * bound to the address they have now.
   */
  async applyPresets(): Promise<void> {
    const { database, config, logger } = this.context;
    const now = this.context.now();
    await database.transaction(async (transaction) => {
      const storedProviders = new ProviderRepository(transaction);
      await this.insertMissingRows(storedProviders, now);
      const stored = new Map((await storedProviders.listAll()).map((record) => [record.kind, record]));
      for (const kind of providerKinds) {
        const preset = config.providerPresets[kind];
        const record = stored.get(kind);
        const changes: ProviderChanges = {};
        const baseUrl = preset.baseUrl === undefined ? record?.baseUrl : normaliseProviderBaseUrl(kind, preset.baseUrl);
        if (preset.baseUrl !== undefined) changes.base_url = baseUrl;
        if (preset.apiKey !== undefined && providerNeedsKey[kind]) {
          changes.encrypted_key = this.secretBox.encrypt(preset.apiKey, keyContextOf(kind, baseUrl ?? ""));
          changes.key_last4 = lastFourOf(preset.apiKey);
          changes.is_active = true;
        } else if (record?.encryptedKey && baseUrl !== undefined) {
          const rebound = this.rebindStoredKey(record, baseUrl);
          if (rebound !== undefined) changes.encrypted_key = rebound;
        }
        if (preset.isActive !== undefined) changes.is_active = preset.isActive;
        if (Object.keys(changes).length === 0) continue;
        await storedProviders.update(kind, { ...changes, updated_at: now });
        logger.info("provider preset applied", { provider: kind, fields: Object.keys(changes).filter((name) => name !== "key_last4") });
      }
    });
    await this.reload();
  }

  async listProviders(): Promise<Provider[]> {
    const records = await this.loadRecords();
    const counts = await this.storedModels.countByProvider();
    return providerKinds.map((kind) => this.toProvider(records.get(kind)!, counts.get(kind)));
  }

  async getProvider(kind: ProviderKind): Promise<Provider> {
    const record = await this.getRecord(kind);
    const counts = await this.storedModels.countByProvider();
    return this.toProvider(record, counts.get(kind));
  }

  async updateProvider(kind: ProviderKind, request: UpdateProviderRequest): Promise<Provider> {
    const current = await this.getRecord(kind);
    const label = providerLabels[kind];
    const changes: ProviderChanges = { updated_at: this.context.now() };
    let hasKey = current.encryptedKey !== null;
    let isConnectionChanged = false;
    if (request.apiKey !== undefined) {
      if (!providerNeedsKey[kind] && request.apiKey !== null) {
        throw new AppError(400, "validation_failed", `${label} does not use an API key`);
      }
      hasKey = request.apiKey !== null;
      // encrypted below, bound to the base URL it will be sent to
      changes.encrypted_key = null;
      changes.key_last4 = request.apiKey === null ? null : lastFourOf(request.apiKey);
      isConnectionChanged = true;
    }
    const baseUrl = request.baseUrl === undefined ? current.baseUrl : normaliseProviderBaseUrl(kind, request.baseUrl);
    if (baseUrl !== current.baseUrl) {
      // A stored key goes only to the address it was saved with: otherwise whoever may change the
      // address could have the key sent to a host of theirs (and read it there).
      if (request.apiKey === undefined && current.encryptedKey !== null) {
        throw new AppError(
          400,
          "validation_failed",
          `apiKey: enter ${label}'s API key again to change its base URL (or remove the key); a stored key is only sent to the address it was saved with`,
        );
      }
      isConnectionChanged = true;
      changes.base_url = baseUrl;
    }
    if (typeof request.apiKey === "string") changes.encrypted_key = this.secretBox.encrypt(request.apiKey, keyContextOf(kind, baseUrl));
    // A provider's first key turns it on (an admin who saves a key means to use it); an admin can
    // still save a key with isActive false, or turn it off afterwards.
    const isFirstKey = typeof request.apiKey === "string" && current.encryptedKey === null && !current.isActive;
    let isActive = request.isActive ?? (isFirstKey ? true : current.isActive);
    if (isActive && providerNeedsKey[kind] && !hasKey) {
      if (request.isActive === true) {
        throw new AppError(409, "provider_not_configured", `Add an API key before turning ${label} on`);
      }
      // removing the key of an active provider turns it off: it cannot answer without one
      isActive = false;
    }
    changes.is_active = isActive;
    // the last refresh error was about the old key or URL
    if (isConnectionChanged) changes.last_error = null;
    await this.storedProviders.update(kind, changes);
    this.context.logger.info("provider updated", {
      provider: kind,
      isActive,
      changed: Object.keys(request).filter((name) => (request as Record<string, unknown>)[name] !== undefined),
    });
    await this.reload();
    return this.getProvider(kind);
  }

  /**
   * Calls the provider's list endpoint with a short deadline. Works while the provider is turned
   * off, so an admin can check a key before enabling it. Success and failure are both a 200 answer.
   */
  async testConnection(kind: ProviderKind): Promise<TestConnectionResponse> {
    const record = await this.getRecord(kind);
    let adapter: ChatProvider;
    try {
      adapter = this.adapterFor(record);
    } catch (error) {
      if (error instanceof AppError) return { ok: false, error: error.toDetail() };
      throw error;
    }
    const timeoutMs = Math.min(this.context.config.providerConnectTimeoutMs, testConnectionMaxMs);
    const started = performance.now();
    try {
      const { modelCount } = await callWithTimeout({ kind, baseUrl: record.baseUrl }, timeoutMs, (signal) =>
        adapter.checkConnection(signal),
      );
      const latencyMs = Math.round(performance.now() - started);
      this.context.logger.info("provider connection tested", { provider: kind, ok: true, modelCount, latencyMs });
      return { ok: true, modelCount, latencyMs };
    } catch (error) {
      if (!(error instanceof ProviderError)) throw error;
      this.context.logger.info("provider connection tested", { provider: kind, ok: false, code: error.code, reason: error.adminMessage });
      // an admin's endpoint: the words with the address it tried
      return { ok: false, error: { code: error.code, message: error.adminMessage, retryable: error.retryable } };
    }
  }

  /** The adapter a send uses. 409 provider_not_configured when the provider is off or has no usable key. */
  async getChatProvider(kind: ProviderKind): Promise<ChatProvider> {
    const record = await this.getRecord(kind);
    if (!record.isActive) {
      throw new AppError(
        409,
        "provider_not_configured",
        `${providerLabels[kind]} is turned off — an admin can turn it on in Team Settings`,
      );
    }
    return this.adapterFor(record);
  }

  /** The adapter for listing models, whether or not the provider is turned on (it still needs its key). */
  async getCatalogProvider(kind: ProviderKind): Promise<ChatProvider> {
    return this.adapterFor(await this.getRecord(kind));
  }

  /**
   * Names the provider's current connection (its address and stored key) without revealing either:
   * a new key or address is another connection, so a circuit counted on the old one does not apply.
   */
  async connectionIdOf(kind: ProviderKind): Promise<string> {
    const record = await this.getRecord(kind);
    return crypto
      .createHash("sha256")
      .update(`${record.kind}\n${record.baseUrl}\n${record.encryptedKey ?? ""}`)
      .digest("base64url")
      .slice(0, 16);
  }

  async getBaseUrl(kind: ProviderKind): Promise<string> {
    return (await this.getRecord(kind)).baseUrl;
  }

  /** From memory: which providers are on and when their models were last refreshed. */
  async providerStates(): Promise<ProviderState[]> {
    const records = await this.loadRecords();
    return providerKinds.map((kind) => {
      const record = records.get(kind)!;
      return { kind, isActive: record.isActive, lastRefreshedAt: record.lastRefreshedAt };
    });
  }

  /** Records the outcome of a model-list refresh (a failure keeps the last successful time). */
  async recordRefreshResult(kind: ProviderKind, result: RefreshResult): Promise<void> {
    if ("error" in result) await this.storedProviders.recordRefreshError(kind, result.error);
    else await this.storedProviders.recordRefreshSuccess(kind, result.refreshedAt);
    await this.reload({ keepAdapters: true });
  }

  /** Called after every change of a provider's settings or refresh state. Returns an unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private adapterFor(record: StoredProvider): ChatProvider {
    const cached = this.adapters.get(record.kind);
    if (cached) return cached;
    const label = providerLabels[record.kind];
    let apiKey: string | undefined;
    if (providerNeedsKey[record.kind]) {
      if (record.encryptedKey === null) {
        throw new AppError(409, "provider_not_configured", `${label} has no API key — an admin can add one in Team Settings`);
      }
      try {
        // the address is part of what the encryption authenticates: a key opens only for the base URL it was saved with
        apiKey = this.secretBox.decrypt(record.encryptedKey, keyContextOf(record.kind, record.baseUrl));
      } catch (error) {
        if (!(error instanceof SecretBoxError)) throw error;
        this.context.logger.warn("stored provider key cannot be decrypted", { provider: record.kind, reason: error.message });
        throw new AppError(
          409,
          "provider_not_configured",
          `${label}'s stored API key cannot be used (it was saved for another base URL, or with another SECRET_KEY); enter it again in Team Settings`,
        );
      }
    }
    const adapter = createChatProvider(record.kind, {
      baseUrl: record.baseUrl,
      apiKey,
      connectTimeoutMs: this.context.config.providerConnectTimeoutMs,
    });
    this.adapters.set(record.kind, adapter);
    return adapter;
  }

  /**
   * The stored key encrypted for `baseUrl`, when it must change: a key of an older version (bound to
   * its kind only) or a preset address. undefined when it is already bound to `baseUrl`, or cannot
   * be opened at all (then it stays as it is, and using it says so).
   */
  private rebindStoredKey(record: StoredProvider, baseUrl: string): string | undefined {
    if (record.encryptedKey === null) return undefined;
    for (const context of [keyContextOf(record.kind, baseUrl), keyContextOf(record.kind, record.baseUrl), record.kind]) {
      let apiKey: string;
      try {
        apiKey = this.secretBox.decrypt(record.encryptedKey, context);
      } catch (error) {
        if (error instanceof SecretBoxError) continue;
        throw error;
      }
      if (context === keyContextOf(record.kind, baseUrl)) return undefined;
      return this.secretBox.encrypt(apiKey, keyContextOf(record.kind, baseUrl));
    }
    return undefined;
  }

  private async getRecord(kind: ProviderKind): Promise<StoredProvider> {
    const record = (await this.loadRecords()).get(kind);
    if (!record) throw new AppError(404, "not_found", `Unknown provider ${kind}`);
    return record;
  }

  private loadRecords(): Promise<Map<ProviderKind, StoredProvider>> {
    if (this.records) return Promise.resolve(this.records);
    this.loading ??= (async () => {
      try {
        await this.context.database.transaction((transaction) =>
          this.insertMissingRows(new ProviderRepository(transaction), this.context.now()),
        );
        const records = await this.readRecords();
        this.records ??= records;
        return this.records;
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }

  private async reload(options: { keepAdapters?: boolean } = {}): Promise<void> {
    this.records = await this.readRecords();
    this.context.cluster.announce({ kind: "providers", keepAdapters: options.keepAdapters ?? false });
    this.dropAdaptersAndTell(options);
  }

  /** Another instance changed the providers: read them again on next use. */
  private forgetHere(options: { keepAdapters?: boolean }): void {
    this.records = undefined;
    this.loading = undefined;
    this.dropAdaptersAndTell(options);
  }

  private dropAdaptersAndTell(options: { keepAdapters?: boolean }): void {
    if (!options.keepAdapters) this.adapters.clear();
    for (const listener of this.listeners) {
      try {
        listener();
      } catch (error) {
        this.context.logger.error("provider change listener failed", { error });
      }
    }
  }

  private async readRecords(): Promise<Map<ProviderKind, StoredProvider>> {
    return new Map((await this.storedProviders.listAll()).map((record) => [record.kind, record]));
  }

  private async insertMissingRows(storedProviders: ProviderRepository, now: number): Promise<void> {
    for (const kind of providerKinds) await storedProviders.insertIfMissing(kind, defaultProviderBaseUrls[kind], now);
  }

  private toProvider(record: StoredProvider, counts: ModelCounts | undefined): Provider {
    const hasKey = record.encryptedKey !== null;
    return {
      kind: record.kind,
      label: providerLabels[record.kind],
      isActive: record.isActive,
      baseUrl: record.baseUrl,
      needsKey: providerNeedsKey[record.kind],
      hasKey,
      keyMasked: hasKey ? `••••${record.keyLast4 ?? ""}` : null,
      modelCount: counts?.available ?? 0,
      visibleModelCount: counts?.visible ?? 0,
      lastRefreshedAt: record.lastRefreshedAt === null ? null : new Date(record.lastRefreshedAt).toISOString(),
      lastError: record.lastError,
    };
  }
}

/** What a stored key's encryption authenticates besides the key: its provider and the base URL it may be sent to. */
function keyContextOf(kind: ProviderKind, baseUrl: string): string {
  return `${kind}\n${baseUrl}`;
}

function lastFourOf(apiKey: string): string | null {
  return apiKey.length >= minimumKeyLengthToShowLast4 ? apiKey.slice(-4) : null;
}

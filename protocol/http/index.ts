export * from "./accounts";
export * from "./conversations";
export * from "./endpoints";
export * from "./error-codes";
export * from "./generation-events";
export * from "./meta";
export * from "./models";
export * from "./providers";

// esbuild bundles a stylesheet imported for its side effect into the entry point's .css file.
declare module "*.css";

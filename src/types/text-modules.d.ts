/** Source files bundled as text (tsup's and vitest's `.py` loaders): the Docker run agent. */
declare module '*.py' {
  const source: string;
  export default source;
}

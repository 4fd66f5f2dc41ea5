import{a as e,b as r}from"./NZDQOAJW.js";import"./RNPJADOP.js";import"./ZM2XUYVT.js";export{e as TreemapModule,r as createTreemapServices};

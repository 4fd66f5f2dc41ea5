import{a as r,b as e}from"./F7JMAUKI.js";import"./RNPJADOP.js";import"./ZM2XUYVT.js";export{r as GitGraphModule,e as createGitGraphServices};
